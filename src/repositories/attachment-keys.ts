/**
 * Where an attachment's bytes are in the blob store: under its user's prefix (which
 * `users.erase` sweeps by default) and its chat's, named by its id only, so that no file name
 * a user chose ever becomes part of a key.
 * @internal
 */
export function attachmentKey(userId: string, chatId: string, attachmentId: string): string {
  return `${attachmentKeyPrefixOfUser(userId)}chats/${chatId}/attachments/${attachmentId}`
}

/** The key prefix of every attachment of one user. @internal */
export function attachmentKeyPrefixOfUser(userId: string): string {
  return `users/${userId}/`
}
