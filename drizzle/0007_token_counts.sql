ALTER TABLE "chat_messages" ADD COLUMN "tokens" integer;--> statement-breakpoint
ALTER TABLE "chat_messages" ADD COLUMN "part_tokens" integer[];--> statement-breakpoint
ALTER TABLE "chat_messages" ADD COLUMN "token_counter" varchar(64);