CREATE TABLE "chat_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chat_id" uuid NOT NULL,
	"content" text NOT NULL,
	"tokens" integer NOT NULL,
	"token_counter" varchar(64) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chat_summaries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chat_id" uuid NOT NULL,
	"covers_message_id" uuid NOT NULL,
	"covers_seq" bigint NOT NULL,
	"status" varchar(16) NOT NULL,
	"content" text,
	"tokens" integer,
	"token_counter" varchar(64),
	"message_count" integer NOT NULL,
	"claimed_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chat_summaries_status_check" CHECK ("chat_summaries"."status" in ('pending', 'ready')),
	CONSTRAINT "chat_summaries_ready_check" CHECK ("chat_summaries"."status" = 'pending' OR ("chat_summaries"."content" IS NOT NULL AND "chat_summaries"."tokens" IS NOT NULL))
);
--> statement-breakpoint
ALTER TABLE "chat_notes" ADD CONSTRAINT "chat_notes_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_summaries" ADD CONSTRAINT "chat_summaries_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_summaries" ADD CONSTRAINT "chat_summaries_covers_message_id_chat_messages_id_fk" FOREIGN KEY ("covers_message_id") REFERENCES "public"."chat_messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "chat_notes_chat_idx" ON "chat_notes" USING btree ("chat_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_summaries_covers_idx" ON "chat_summaries" USING btree ("covers_message_id");--> statement-breakpoint
CREATE INDEX "chat_summaries_chat_seq_idx" ON "chat_summaries" USING btree ("chat_id","covers_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_summaries_one_pending_idx" ON "chat_summaries" USING btree ("chat_id") WHERE "chat_summaries"."status" = 'pending';--> statement-breakpoint
-- A summary is of the messages as they were: changing the text of a message it covers (in
-- place, by whatever writer) deletes it, and the next refresh summarises again. Every summary
-- of the chat at or after the message's seq goes, which includes each one that covers it (a
-- descendant's seq is above its ancestor's); a streaming reply is never covered.
CREATE FUNCTION "public"."stratum_forget_stale_summaries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "public"."chat_summaries" s
   WHERE s.chat_id = OLD.chat_id AND (OLD.seq IS NULL OR s.covers_seq >= OLD.seq);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "chat_messages_forget_stale_summaries" AFTER UPDATE OF "parts", "content", "role", "parent_id" ON "public"."chat_messages" FOR EACH ROW
  WHEN (OLD.status <> 'streaming' AND (OLD.parts IS DISTINCT FROM NEW.parts OR OLD.content IS DISTINCT FROM NEW.content OR OLD.role IS DISTINCT FROM NEW.role OR OLD.parent_id IS DISTINCT FROM NEW.parent_id))
  EXECUTE FUNCTION "public"."stratum_forget_stale_summaries"();
