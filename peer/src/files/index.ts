/**
 * File transfer between peers over `/cli-chat/file/2.0.0`.
 *
 * @example
 *
 * ```ts
 * const files = new FileTransfer({ node, downloadsDir, isMember: (id) => members.has(id), log })
 * files.addEventListener('file-offered', (evt) => { if (evt.detail.needsAccept) ask(evt.detail) })
 * files.addEventListener('received', (evt) => console.info(`saved ${evt.detail.path}`))
 * await files.start()
 * await files.send(peerId, './photo.jpg')
 * ```
 */
export { FileTransfer } from './transfer.ts';
export type {
  FileFailedEvent, FileOfferedEvent, FileOfferSentEvent, FileProgressEvent, FileReceivedEvent, FileSentEvent,
  FileTransferEvents, FileTransferInit, FileTransferNode, FileTransferStats, FileWaitingEvent, OutgoingFile, PendingOffer, PendingReason,
  TransferView
} from './transfer.ts';
export { FileTransferError } from './errors.ts';
export type { FileFailReason, FileInputReason, FileTransferErrorReason } from './errors.ts';
export {
  DEFAULT_AUTO_ACCEPT_BYTES, DEFAULT_DOWNLOADS_QUOTA_BYTES, FILE_PROTOCOL_ID, MAX_FILE_BYTES, OFFER_TIMEOUT_MS
} from './constants.ts';
export { safeFileName } from './safe-name.ts';
