CREATE TABLE "blob_deletions" (
	"key" text PRIMARY KEY NOT NULL,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chat_attachments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chat_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"key" text NOT NULL,
	"media_type" varchar(255) NOT NULL,
	"filename" text,
	"size" bigint,
	"sha256" varchar(64),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chat_attachments_key_unique" UNIQUE("key")
);
--> statement-breakpoint
CREATE TABLE "chat_message_attachments" (
	"message_id" uuid NOT NULL,
	"attachment_id" uuid NOT NULL,
	CONSTRAINT "chat_message_attachments_message_id_attachment_id_pk" PRIMARY KEY("message_id","attachment_id")
);
--> statement-breakpoint
ALTER TABLE "chat_attachments" ADD CONSTRAINT "chat_attachments_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_message_attachments" ADD CONSTRAINT "chat_message_attachments_message_id_chat_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."chat_messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_message_attachments" ADD CONSTRAINT "chat_message_attachments_attachment_id_chat_attachments_id_fk" FOREIGN KEY ("attachment_id") REFERENCES "public"."chat_attachments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "chat_attachments_chat_idx" ON "chat_attachments" USING btree ("chat_id");--> statement-breakpoint
CREATE INDEX "chat_attachments_created_idx" ON "chat_attachments" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "chat_message_attachments_attachment_idx" ON "chat_message_attachments" USING btree ("attachment_id");--> statement-breakpoint
-- Hand-written below: drizzle-kit generates no triggers. They keep the blob store and the
-- rows in step whatever deletes or writes the rows (the library, a cascade, plain SQL).
-- A message's file parts with an attachmentId are mirrored into chat_message_attachments;
-- an attachment of another chat (or none) is refused.
CREATE FUNCTION "public"."stratum_sync_message_attachments"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
  missing uuid;
BEGIN
  SELECT coalesce(array_agg(DISTINCT (p->>'attachmentId')::uuid), '{}') INTO ids
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(NEW.parts) = 'array' THEN NEW.parts ELSE '[]'::jsonb END) AS p
    WHERE p->>'type' = 'file' AND p ? 'attachmentId';
  SELECT i INTO missing FROM unnest(ids) AS i
    WHERE NOT EXISTS (SELECT 1 FROM "public"."chat_attachments" a WHERE a.id = i AND a.chat_id = NEW.chat_id)
    LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'attachment % is not an attachment of the message''s chat', missing
      USING ERRCODE = 'foreign_key_violation', TABLE = 'chat_message_attachments',
        CONSTRAINT = 'chat_message_attachments_attachment_id_chat_attachments_id_fk';
  END IF;
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM "public"."chat_message_attachments" WHERE message_id = NEW.id AND attachment_id <> ALL (ids);
  END IF;
  INSERT INTO "public"."chat_message_attachments" (message_id, attachment_id)
    SELECT NEW.id, i FROM unnest(ids) AS i ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "chat_messages_attachments_insert" AFTER INSERT ON "public"."chat_messages" FOR EACH ROW
  WHEN (NEW.parts @? '$[*] ? (exists(@.attachmentId))')
  EXECUTE FUNCTION "public"."stratum_sync_message_attachments"();--> statement-breakpoint
CREATE TRIGGER "chat_messages_attachments_update" AFTER UPDATE OF "parts" ON "public"."chat_messages" FOR EACH ROW
  WHEN (NEW.parts @? '$[*] ? (exists(@.attachmentId))' OR OLD.parts @? '$[*] ? (exists(@.attachmentId))')
  EXECUTE FUNCTION "public"."stratum_sync_message_attachments"();--> statement-breakpoint
-- An attachment that lost its last message (the message or its branch deleted, its parts
-- rewritten without it) is deleted with it. The row lock first waits for a writer that is
-- linking another message to it; the check after it then sees that link.
CREATE FUNCTION "public"."stratum_delete_unreferenced_attachment"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM "public"."chat_attachments" WHERE id = OLD.attachment_id FOR UPDATE;
  IF NOT EXISTS (SELECT 1 FROM "public"."chat_message_attachments" r WHERE r.attachment_id = OLD.attachment_id) THEN
    DELETE FROM "public"."chat_attachments" WHERE id = OLD.attachment_id;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "chat_message_attachments_unreferenced" AFTER DELETE ON "public"."chat_message_attachments" FOR EACH ROW
  EXECUTE FUNCTION "public"."stratum_delete_unreferenced_attachment"();--> statement-breakpoint
-- A deleted attachment's blob key is queued in the same transaction; the library deletes the
-- blob after COMMIT, and data.attachments.sweep() finishes what a crash left queued.
CREATE FUNCTION "public"."stratum_queue_blob_deletion"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "public"."blob_deletions" (key) VALUES (OLD.key) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "chat_attachments_queue_blob_deletion" AFTER DELETE ON "public"."chat_attachments" FOR EACH ROW
  EXECUTE FUNCTION "public"."stratum_queue_blob_deletion"();
