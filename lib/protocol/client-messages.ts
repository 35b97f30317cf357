import { Type, type Static } from '@sinclair/typebox'

/**
 * Messages a client sends, as TypeBox schemas (the runtime validator) and the types derived from them.
 * Unknown extra fields are allowed: newer clients may add them.
 */

const SessionDescription = Type.Object({
  type: Type.Literal('offer'),
  sdp: Type.String({ minLength: 1 })
})

export const VisionAttachmentSchema = Type.Object({
  data: Type.String({ minLength: 1 }),
  mimeType: Type.Optional(Type.String()),
  alt: Type.Optional(Type.String())
})

const IceCandidateInit = Type.Object({
  candidate: Type.Optional(Type.String()),
  sdpMid: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  usernameFragment: Type.Optional(Type.Union([Type.String(), Type.Null()]))
})

export const PingMessageSchema = Type.Object({
  type: Type.Literal('ping'),
  timestamp: Type.Number()
})

export const OfferMessageSchema = Type.Object({
  type: Type.Union([Type.Literal('offer'), Type.Literal('signal')]),
  signal: SessionDescription
})

export const ReconnectMessageSchema = Type.Object({
  type: Type.Literal('reconnect'),
  sessionId: Type.String({ minLength: 1, maxLength: 200 })
})

export const AudioMessageSchema = Type.Object({
  type: Type.Literal('audio'),
  data: Type.String({ minLength: 1 }),
  attachments: Type.Optional(Type.Array(VisionAttachmentSchema))
})

/** Longest `text` message, in characters (ours): a typed turn is a sentence or a few, not a document. */
export const MAX_TEXT_MESSAGE_CHARS = 2000

/** Ours: a turn from typed text instead of speech (the same pipeline, without STT). */
export const TextMessageSchema = Type.Object({
  type: Type.Literal('text'),
  text: Type.String({ minLength: 1, maxLength: MAX_TEXT_MESSAGE_CHARS }),
  attachments: Type.Optional(Type.Array(VisionAttachmentSchema))
})

export const AttachmentsMessageSchema = Type.Object({
  type: Type.Literal('attachments'),
  attachments: Type.Array(VisionAttachmentSchema)
})

export const IceMessageSchema = Type.Object({
  type: Type.Literal('ice'),
  candidate: Type.Union([IceCandidateInit, Type.Null()])
})

/**
 * Ours (plugins/device): the microphone streams over this socket as binary frames in `codec` (opus,
 * pcm16, mulaw; checked by the handler, which names the choices), and the answer comes back the same way.
 */
export const AudioStreamStartMessageSchema = Type.Object({
  type: Type.Literal('audio-stream-start'),
  codec: Type.String({ maxLength: 32 }),
  sampleRate: Type.Optional(Type.Number())
})

/** Ours: the stream's audio sent before the mark `mark` has played on the client. */
export const PlayedMessageSchema = Type.Object({
  type: Type.Literal('played'),
  mark: Type.String({ maxLength: 64 })
})

/** Ours: the microphone stream is over (the session goes on). */
export const AudioStreamStopMessageSchema = Type.Object({
  type: Type.Literal('audio-stream-stop')
})

export type PingMessage = Static<typeof PingMessageSchema>
export type OfferMessage = Static<typeof OfferMessageSchema>
export type ReconnectMessage = Static<typeof ReconnectMessageSchema>
export type AudioMessage = Static<typeof AudioMessageSchema>
export type AttachmentsMessage = Static<typeof AttachmentsMessageSchema>
export type TextMessage = Static<typeof TextMessageSchema>
export type IceMessage = Static<typeof IceMessageSchema>
export type AudioStreamStartMessage = Static<typeof AudioStreamStartMessageSchema>
export type PlayedMessage = Static<typeof PlayedMessageSchema>
export type AudioStreamStopMessage = Static<typeof AudioStreamStopMessageSchema>
export type VisionAttachment = Static<typeof VisionAttachmentSchema>

export type ClientMessage =
  | PingMessage
  | OfferMessage
  | ReconnectMessage
  | AudioMessage
  | TextMessage
  | AttachmentsMessage
  | IceMessage
  | AudioStreamStartMessage
  | PlayedMessage
  | AudioStreamStopMessage

export type ClientMessageType = ClientMessage['type']

export const clientMessageSchemas = {
  ping: PingMessageSchema,
  offer: OfferMessageSchema,
  signal: OfferMessageSchema,
  reconnect: ReconnectMessageSchema,
  audio: AudioMessageSchema,
  text: TextMessageSchema,
  attachments: AttachmentsMessageSchema,
  ice: IceMessageSchema,
  'audio-stream-start': AudioStreamStartMessageSchema,
  played: PlayedMessageSchema,
  'audio-stream-stop': AudioStreamStopMessageSchema
} as const
