export {
  TetherClient,
  FINAL_CLOSE_CODES,
  THROTTLE_CLOSE_CODES,
  CLIENT_TIMEOUT_CLOSE_CODE,
  REFUSED_STATUS_CLOSE_CODES,
  type TetherClientOptions,
  type RequestOptions,
  type WebSocketLike,
  type WebSocketConstructor,
  type Clock,
  type TokenSource,
} from './client.js';
export { Draft, type UploadResult, type UploadData } from './draft.js';
export {
  Rooms,
  type JoinOptions,
  type RoomView,
  type RoomParticipant,
  type ListedRoom,
  type RoomLeftReason,
  type RoomEventMap,
} from './rooms.js';
export { Channels, isHistoryChannel, type ChannelsEventMap, type ChannelLostEvent } from './channels.js';
export {
  Chat,
  newClientMsgId,
  TYPING_TIMEOUT_MS,
  MAX_RECEIPTS,
  type ChatEventMap,
  type SubscribeOptions,
  type SendOptions,
  type HistoryOptions,
  type HistoryPage,
  type Receipt,
  type ReceiptStatus,
} from './chat.js';
export { TetherError } from './errors.js';
export {
  createGuest,
  GuestError,
  isGuestGone,
  isGuestDeletedClose,
  parseRetryAfter,
  GUEST_DELETED_CLOSE_CODE,
  GUEST_DELETED_REASON,
  GUEST_GONE_MESSAGE,
  type Guest,
} from './guests.js';
export { Emitter, type Listener } from './emitter.js';
export { attachPageLifecycle, type PageLifecycleOptions } from './lifecycle.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { buildConnectUrl, httpBaseFromWsUrl } from './url.js';
export type * from './types.js';
