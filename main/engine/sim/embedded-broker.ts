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
  log: (m: string) => void = () => undefined

  addChecker(checker: LoginChecker): void {
    this.checkers.push(checker)
  }

  onDeviceSubscribe(listener: (topic: string, clientId: string) => void): void {
    this.onSubscribe.push(listener)
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
    this.broker = broker
    const server = createServer(broker.handle as (socket: Socket) => void)
    server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.server = server
    this.url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()))
    if (this.broker) await new Promise<void>((r) => this.broker!.close(() => r()))
  }
}
