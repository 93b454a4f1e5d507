/**
 * stratum-data: a typed data layer for TypeScript services.
 *
 * @example
 * ```ts
 * import { createDataLayer } from 'stratum-data'
 * const data = await createDataLayer()
 * await data.migrate()
 * ```
 * @module
 */

export { ATTACHMENT_DEFAULTS, type AttachmentUrlOf } from './attachments/attachment-options.js'
export type {
  Attachment,
  AttachmentAccess,
  AttachmentFilePart,
  AttachmentStore,
  AttachmentSweepResult,
  AttachmentUpload,
} from './attachments/attachment-store.js'
export type { TableCacheSetting } from './cache/cache-options.js'
export type {
  Cache,
  CacheEvent,
  CacheStats,
  Coordination,
  RateLimiter,
  RateLimitOptions,
  RateLimitResult,
  Session,
  SessionStore,
} from './cache/index.js'
export {
  type ResumableStreamPublisher,
  type ResumableStreamSubscriber,
  resumableStreamClients,
} from './cache/resumable-stream-clients.js'
export { ENV_VARIABLES, type EnvVariable } from './config/env-variables.js'
export type { DataLayerOptions } from './config/options.js'
export type { ChatContext } from './context/chat-context.js'
export type {
  BuiltContext,
  ContextExclusion,
  ContextExclusionReason,
  ContextMemory,
  ContextMessage,
  ContextNote,
  ContextRelevant,
  ContextSummary,
} from './context/context-builder.js'
export { type BuildContextOptions, CONTEXT_DEFAULTS } from './context/context-options.js'
export type { ContextUIMessage } from './context/message-cost.js'
export {
  type ChatOfUser,
  MAX_NOTE_LENGTH,
  MAX_NOTES_PER_CHAT,
  type PinNoteOptions,
} from './context/pinned-notes.js'
export type { StoredSummary, SummarizeResult, SummarizeStatus } from './context/summarizer.js'
export {
  MAX_SUMMARY_LENGTH,
  SUMMARY_DEFAULTS,
  type SummarizeInput,
  type SummarizeOptions,
} from './context/summary-options.js'
export { type CreateDataLayer, createDataLayer } from './data-layer/create-data-layer.js'
export type {
  BlobHealth,
  CacheHealth,
  DatabaseHealth,
  EmbeddingsHealth,
  HealthReport,
  PartHealth,
  PartStatus,
} from './data-layer/health.js'
export type { TransactionOptions } from './data-layer/transaction-options.js'
export type {
  DataLayer,
  DataLayerMetrics,
  NoExtensions,
  Repositories,
  TransactionRepositories,
  TransactionScope,
  TransactionUsersRepository,
} from './data-layer/types.js'
export type {
  CoreSchema,
  Executor,
  PoolStats,
  StratumDatabase,
  StratumTransaction,
} from './db/connection.js'
export type { PoolOptions } from './db/database-options.js'
export type { MigrateResult, MigrationState, MigrationStatus } from './db/migrator.js'
export { LATENCY_BUCKETS_MS, type Logger, type QueryMetrics } from './db/query-observer.js'
export type { ReplicaState, ReplicaStats } from './db/read-replicas.js'
export {
  EMBED_ON_WRITE_DEFAULTS,
  type EmbedOnWriteOptions,
  type EmbedTexts,
} from './embedding/embed-on-write-options.js'
export type {
  EmbeddingBatchResult,
  EmbeddingQueue,
  EmbeddingQueueStatus,
  EmbeddingStats,
} from './embedding/embedding-queue.js'
export { chunkText, embeddableText } from './embedding/text-chunks.js'
export {
  ConfigError,
  DimensionMismatchError,
  isStratumError,
  StratumError,
  type StratumErrorCode,
  type StratumErrorOptions,
  ValidationError,
  type ValidationIssue,
} from './errors.js'
export {
  type DataLayerExtension,
  defineExtension,
  type ExtensionApis,
  type ExtensionMigrations,
  type ExtensionScope,
} from './extensions/extension.js'
export {
  type ChatLive,
  type ChatPresence,
  LIVE_DEFAULTS,
  type WatchOptions,
} from './live/chat-live.js'
export {
  MAX_MEMORY_KEY_LENGTH,
  MAX_MEMORY_LENGTH,
  type MemorySearchOptions,
  type RememberInput,
} from './memory/memory-options.js'
export type { Memory, MemoryHit, MemoryStore } from './memory/memory-store.js'
export type { BackupInfo, TransferProgress } from './ops/backup.js'
export type { DoctorCheck, DoctorReport } from './ops/doctor.js'
export type { RestoreOptions, RestoreResult } from './ops/restore.js'
export type { RoleSpec, RolesOptions, RolesPlan } from './ops/roles.js'
export type { MigrateStep, VerifiedMigrateResult } from './ops/verified-migrate.js'
export type {
  ChatBranchEvent,
  ChatEvent,
  ChatMessageEvent,
  ChatPresenceEvent,
  ChatResetEvent,
  EventMessage,
} from './repositories/chat-events.js'
export {
  type ChatListOptions,
  ChatsRepository,
  DEFAULT_CHAT_RETENTION_MS,
  type ListOptions,
} from './repositories/chats-repository.js'
export type { ErasureReport } from './repositories/erase-user.js'
export type { FilterOperators, Where } from './repositories/filters.js'
export type { SortDirection } from './repositories/keyset.js'
export type { MessageBranches } from './repositories/message-tree.js'
export {
  type AppendMessageInput,
  type MessageListOptions,
  MessagesRepository,
  type SaveUIMessagesOptions,
} from './repositories/messages-repository.js'
export { DEFAULT_SWEEP_IDLE_MS, type StartReplyOptions } from './repositories/reply-options.js'
export {
  REPLY_STREAM_DEFAULTS,
  type ReplyFinish,
  type ReplySnapshot,
  ReplyStream,
  type ReplyStreamOptions,
  type ReplyStreamStats,
} from './repositories/reply-stream.js'
export { Repository } from './repositories/repository.js'
export {
  DEFAULT_PAGE_SIZE,
  type FindManyOptions,
  type FindPageOptions,
  MAX_PAGE_SIZE,
  type OrderBy,
  type Page,
  type ReadOptions,
  type UpsertOptions,
} from './repositories/repository-types.js'
export type {
  IdOf,
  InsertOf,
  PrimaryKeyOf,
  RowOf,
  TableSchemas,
} from './repositories/table-definition.js'
export { UsersRepository } from './repositories/users-repository.js'
export type {
  Chat,
  ChatMessage,
  ChatVector,
  MessageRole,
  MessageStatus,
  NewChat,
  NewChatMessage,
  NewChatVector,
  NewUser,
  User,
} from './schema/index.js'
export {
  ATTACHMENT_URL_SCHEME,
  type ChatAttachment,
  type DataPart,
  type FilePart,
  fromUIMessage,
  type JsonObject,
  type MessagePart,
  messagePartsText,
  type ReasoningPart,
  type SourceDocumentPart,
  type SourceUrlPart,
  type StepStartPart,
  type StoredUIMessage,
  type TextPart,
  type ToolApproval,
  type ToolPart,
  type ToolState,
  toUIMessage,
  type UIMessageLike,
  type UIMessageRole,
  type UnknownPart,
} from './schema/index.js'
export type {
  BlobBody,
  BlobHead,
  BlobListItem,
  BlobListOptions,
  BlobPage,
  BlobPutOptions,
  BlobStats,
  BlobStore,
  ByteRange,
  SignedUrlOptions,
} from './storage/index.js'
export { type MessageTokens, modelTextOfPart } from './tokens/message-tokens.js'
export { DEFAULT_TOKEN_COUNTER_NAME, type TokenCounter } from './tokens/token-counter.js'
export type { TlsOptions } from './util/tls-options.js'
export type { ChatSearchOptions, ChatSearchResult } from './vector/chat-search.js'
export { MAX_INDEXED_DIMENSIONS } from './vector/embedding-options.js'
export type { JsonValue, MetadataFilter, MetadataPath } from './vector/metadata-filter.js'
export type { DistanceMetric } from './vector/metrics.js'
export type {
  PartitionConversionOptions,
  PartitionConversionProgress,
  PartitionConversionReport,
} from './vector/partition-conversion.js'
export { AdministeredVectorStore, type DdlSession } from './vector/vector-admin.js'
export type {
  EnsureIndexOptions,
  IndexBuildProgress,
  VectorIndex,
} from './vector/vector-indexes.js'
export { VectorStore } from './vector/vector-store.js'
export type {
  HybridSearchHit,
  HybridSearchOptions,
  RecallOptions,
  RecallReport,
  UpsertedVector,
  VectorChunk,
  VectorSearchHit,
  VectorSearchOptions,
  VectorSearchPlan,
  VectorSelector,
} from './vector/vector-types.js'
