CREATE TABLE "embedding_jobs" (
	"message_id" uuid PRIMARY KEY NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"failed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "embedding_queue_switch" (
	"on" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"since" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "embedding_queue_switch_one_row" CHECK ("embedding_queue_switch"."on")
);
--> statement-breakpoint
ALTER TABLE "embedding_jobs" ADD CONSTRAINT "embedding_jobs_message_id_chat_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."chat_messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "embedding_jobs_due_idx" ON "embedding_jobs" USING btree ("run_after") WHERE "embedding_jobs"."failed_at" IS NULL;--> statement-breakpoint
-- A finished user or assistant message, new or with its text changed, is queued for
-- embedding in the writer's own transaction, once a layer with embedOnWrite has switched the
-- queue on. A message queued again (an edit) gets a new generation and runs again at once.
CREATE FUNCTION "public"."stratum_queue_embedding"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "public"."embedding_queue_switch") THEN
    RETURN NULL;
  END IF;
  INSERT INTO "public"."embedding_jobs" (message_id) VALUES (NEW.id)
  ON CONFLICT (message_id) DO UPDATE
    SET generation = "embedding_jobs".generation + 1, attempts = 0, run_after = now(),
        failed_at = NULL, last_error = NULL;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "chat_messages_queue_embedding_insert" AFTER INSERT ON "public"."chat_messages" FOR EACH ROW
  WHEN (NEW.status <> 'streaming' AND NEW.role IN ('user', 'assistant'))
  EXECUTE FUNCTION "public"."stratum_queue_embedding"();--> statement-breakpoint
CREATE TRIGGER "chat_messages_queue_embedding_update" AFTER UPDATE OF "parts", "content", "status", "role" ON "public"."chat_messages" FOR EACH ROW
  WHEN (NEW.status <> 'streaming' AND NEW.role IN ('user', 'assistant') AND (OLD.parts IS DISTINCT FROM NEW.parts OR OLD.content IS DISTINCT FROM NEW.content OR OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role))
  EXECUTE FUNCTION "public"."stratum_queue_embedding"();
