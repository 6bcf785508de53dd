import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/** Decides whether a device may log in; `undefined` means "not my device, ask the next checker". */
export type LoginChecker = (login: { clientId: string; username: string; password: string }) => { ok: true } | { ok: false; reason: string } | undefined

/**
 * An in-process MQTT broker (aedes) for the demo: each simulated cloud registers a checker for its
 * devices' logins, and the clouds themselves log in with an internal password.
 */
export class EmbeddedBroker {
  readonly cloudUser = 'flashline-sim-cloud'
  readonly cloudPassword = randomBytes(16).toString('hex')
  url = ''
  private readonly checkers: LoginChecker[] = []
  private server: Server | null = null
  private broker: { close(cb?: () => void): void } | null = null
  private readonly sockets = new Set<Socket>()
  private onSubscribe: Array<(topic: string, clientId: string) => void> = []
  private onAck: Array<(topic: string, payload: Buffer, clientId: string) => void> = []
  log: (m: string) => void = () => undefined

  addChecker(checker: LoginChecker): void {
    this.checkers.push(checker)
  }

  onDeviceSubscribe(listener: (topic: string, clientId: string) => void): void {
    this.onSubscribe.push(listener)
  }

  /** Called when a client acknowledges (PUBACK) a QoS 1 message the broker delivered to it. */
  onDelivered(listener: (topic: string, payload: Buffer, clientId: string) => void): void {
    this.onAck.push(listener)
  }

  async start(): Promise<this> {
    const { Aedes } = await import('aedes')
    const broker = await Aedes.createBroker()
    broker.authenticate = (client, username, password, done) => {
      const login = { clientId: client.id, username: username ?? '', password: password?.toString() ?? '' }
      if (login.username === this.cloudUser && login.password === this.cloudPassword) return done(null, true)
      for (const check of this.checkers) {
        const r = check(login)
        if (!r) continue
        if (r.ok) return done(null, true)
        this.log(`login refused for ${client.id}: ${r.reason}`)
        return done(Object.assign(new Error(r.reason), { returnCode: 4 as const }), false)
      }
      this.log(`login refused for ${client.id}: unknown device`)
      done(Object.assign(new Error('unknown device'), { returnCode: 5 as const }), false)
    }
    broker.on('subscribe', (subs, client) => {
      if (!client || client.id.startsWith(this.cloudUser)) return
      for (const s of subs) for (const l of this.onSubscribe) l(s.topic, client.id)
    })
    broker.on('ack', (packet, client) => {
      if (!client || !packet || !('topic' in packet)) return
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
      for (const l of this.onAck) l(packet.topic, payload, client.id)
    })
    this.broker = broker
    this.handle = broker.handle as (socket: Socket) => void
    this.server = await this.listen(0)
    this.url = `mqtt://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  private handle: ((socket: Socket) => void) | null = null

  private async listen(port: number): Promise<Server> {
    const server = createServer(this.handle!)
    server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    return server
  }

  /**
   * Fault injection, a broker outage: every connection is cut and the port refuses connections for
   * `downMs`, then the broker listens again on the same port. Its state (sessions of clients that
   * asked for a persistent one, their queued QoS 1 messages) survives, as on a platform's broker.
   */
  async restart(downMs: number): Promise<void> {
    if (!this.server) throw new Error('the broker is not started')
    const port = (this.server.address() as AddressInfo).port
    const closed = new Promise<void>((r) => this.server!.close(() => r()))
    for (const s of this.sockets) s.destroy()
    await closed
    this.server = null
    await new Promise((r) => setTimeout(r, downMs))
    this.server = await this.listen(port)
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()))
    if (this.broker) await new Promise<void>((r) => this.broker!.close(() => r()))
  }
}
