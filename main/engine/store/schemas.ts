import { z } from 'zod'
import { firstProblem, formatPath } from '../config/fields'
import { JOB_PHASES, type JobPhase } from '../model'

/**
 * Shapes of the state files under the data dir, checked whenever one is read back: a file written by
 * another version, edited by hand or damaged must be recognised as such, not crash the agent.
 */

/** An MQTT topic we may publish to: no wildcards (a broker drops a client that publishes to one), no NUL. */
export const publishTopic = z
  .string()
  .min(1)
  .max(65535)
  .refine((t) => !/[#+\u0000]/.test(t), 'a topic to publish to cannot hold the wildcards # or +, nor NUL')

export const outboundMessageSchema = z.object({
  topic: publishTopic,
  payload: z.string(),
  qos: z.union([z.literal(0), z.literal(1)])
})

export const outboxEntrySchema = z.object({
  id: z.string().regex(/^\d{12}-[0-9a-z]+$/),
  jobId: z.string().min(1).optional(),
  final: z.boolean().optional(),
  message: outboundMessageSchema,
  queuedAt: z.number()
})

export const versionsFileSchema = z.object({
  configured: z.record(z.string(), z.string()),
  current: z.record(z.string(), z.string())
})

const phase = z.enum(JOB_PHASES as [JobPhase, ...JobPhase[]])

export const upgradeOrderSchema = z.looseObject({
  platform: z.enum(['iotda', 'fogcloud', 'wudun']),
  orderId: z.string().min(1),
  deviceId: z.string().min(1),
  kind: z.enum(['firmware', 'software']),
  targetVersion: z.string().optional(),
  source: z.looseObject({ url: z.string() }),
  expect: z.looseObject({}),
  wire: z.record(z.string(), z.unknown()),
  receivedAt: z.number()
})

export const jobRecordSchema = z.looseObject({
  id: z.string().min(1),
  origin: z.enum(['platform', 'local', 'batch']).optional(),
  order: upgradeOrderSchema.optional(),
  phase,
  createdAt: z.number(),
  updatedAt: z.number(),
  startVersion: z.string(),
  runs: z.number(),
  history: z.array(z.object({ phase, at: z.number() })),
  outcome: z
    .looseObject({
      result: z.enum(['succeeded', 'failed', 'cancelled']),
      version: z.string()
    })
    .optional()
})

/** The first problem zod found, as "field: what is wrong". */
export function firstIssue(error: z.ZodError): string {
  const p = firstProblem(error)
  return `${formatPath(p.path)}: ${p.message}`
}
