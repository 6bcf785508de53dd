import { EventEmitter } from 'node:events'
import { rootCertificates } from 'node:tls'
import type { IClientOptions, MqttClient } from 'mqtt'
import { FlashlineError } from '../errors'
import { redactUrl } from '../util/redact'
import type { OutboundMessage } from '../model'
import type { MqttLogin } from '../platforms/adapter'

export interface MqttLinkOptions {
  brokerUrl: string
  /** Extra PEM trust root for mqtts:// (added to the system roots, never replacing verification). */
  ca?: string
  login: (now: Date) => MqttLogin
  subscriptions: string[]
  /** How long the first connection may take before the link gives up (broker unreachable or refused). */
  connectTimeoutMs?: number
  keepaliveSec?: number
  reconnectPeriodMs?: number
}

export function validateBrokerUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new FlashlineError('usage', 'bad-broker-url', `\`broker\` "${redactUrl(url)}" is not a URL; expected mqtt://host:port or mqtts://host:port`)
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') {
    throw new FlashlineError('usage', 'bad-broker-url', `\`broker\` must start with mqtt:// or mqtts://, got "${parsed.protocol}//"`)
  }
  return parsed
}


const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client id rejected',
  3: 'broker unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  134: 'bad user name or password',
  135: 'not authorized'
}

/**
 * What to do about a failed TLS handshake. The broker's alerts about our client certificate (RFC 8446
 * §6.2: certificate_required, unknown_ca, bad_certificate …) are not fixed by a CA for the broker.
 */
function tlsHint(message: string): string {
  if (/alert certificate required/i.test(message)) return 'the broker requires a client certificate: log in with `cert` and `key`'
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|unsupported certificate)/i.test(message)) {
    return 'the broker did not accept the client certificate: check that `cert` and `key` were issued by a CA the broker trusts and are still valid'
  }
  return "give the broker's CA in `ca`"
}

/**
 * The device's MQTT session: logs in (recomputing the login before every reconnect, since some
 * passwords carry a timestamp), subscribes explicitly, publishes with QoS 1 and resolves only on PUBACK.
 * Events: 'connect', 'offline', 'message' (topic, payload), 'log' (text).
 */
export class MqttLink extends EventEmitter {
  private client: MqttClient | null = null
  /** The broker URL without user info, as given to mqtt.js and shown in messages. */
  private readonly url: string
  /** `user:password@` from the broker URL: used only when the platform login names no user. */
  private readonly urlUser?: string
  private readonly urlPassword?: string
  private readonly secrets: string[] = []

  constructor(private readonly options: MqttLinkOptions) {
    super()
    const parsed = validateBrokerUrl(options.brokerUrl)
    if (parsed.username) this.urlUser = safeDecode(parsed.username)
    if (parsed.password) {
      this.urlPassword = safeDecode(parsed.password)
      this.secrets.push(parsed.password, this.urlPassword)
    }
    parsed.username = ''
    parsed.password = ''
    this.url = parsed.toString()
  }

  /** The broker URL for log lines: never carries a password. */
  get displayUrl(): string {
    return redactUrl(this.options.brokerUrl)
  }

  get connected(): boolean {
    return this.client?.connected ?? false
  }

  /** Text from elsewhere (mqtt.js errors) with any URL password masked before it is logged. */
  private scrub(text: string): string {
    let out = text.split(this.options.brokerUrl).join(this.displayUrl)
    for (const s of this.secrets) if (s.length >= 3) out = out.split(s).join('***')
    return out
  }

  /** The platform login (fresh: some passwords carry a timestamp), completed from the URL's user info. */
  private credentials(): MqttLogin {
    const login = this.options.login(new Date())
    if (login.username === undefined && login.password === undefined && this.urlUser !== undefined) return { ...login, username: this.urlUser, password: this.urlPassword }
    return login
  }

  /** Connects; rejects with a platform error if the broker cannot be reached or refuses the login. */
  async start(): Promise<void> {
    const login = this.credentials()
    const opts: IClientOptions = {
      clientId: login.clientId,
      username: login.username,
      password: login.password,
      cert: login.cert,
      key: login.key,
      clean: true,
      keepalive: this.options.keepaliveSec ?? 60,
      reconnectPeriod: this.options.reconnectPeriodMs ?? 2000,
      connectTimeout: 10_000,
      protocolVersion: 4,
      rejectUnauthorized: true,
      resubscribe: false
    }
    if (this.options.ca) opts.ca = [...rootCertificates, this.options.ca]
    // required on first connect: loading mqtt.js takes ~40 ms, which `flashline flash` (no platform) need not pay
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { connect } = require('mqtt') as typeof import('mqtt')
    const client = connect(this.url, opts)
    this.client = client
    let everConnected = false

    // mqtt.js emits 'reconnect' right before it sends the next CONNECT from client.options.
    client.on('reconnect', () => {
      const fresh = this.credentials()
      client.options.clientId = fresh.clientId
      client.options.username = fresh.username
      client.options.password = fresh.password as IClientOptions['password']
    })
    client.on('connect', () => {
      everConnected = true
      client.subscribe(this.options.subscriptions, { qos: 1 }, (err) => {
        if (err) this.emit('log', `subscribe failed: ${this.scrub(err.message)}`)
        this.emit('connect')
      })
    })
    // before the first connection, failures are start()'s to report
    client.on('offline', () => everConnected && this.emit('offline'))
    client.on('message', (topic, payload) => this.emit('message', topic, payload))

    await new Promise<void>((resolve, reject) => {
      const timeoutMs = this.options.connectTimeoutMs ?? 30_000
      let lastError = ''
      const timer = setTimeout(() => {
        cleanup()
        client.end(true)
        reject(new FlashlineError('platform', 'broker-unreachable', `cannot connect to ${this.displayUrl} within ${Math.round(timeoutMs / 1000)} s${lastError ? `: ${lastError}` : ''} — check the address, port, network and TLS settings`))
      }, timeoutMs)
      const onConnect = () => {
        cleanup()
        resolve()
      }
      const onError = (err: Error & { code?: number | string }) => {
        if (typeof err.code === 'number' && CONNACK_REASONS[err.code]) {
          cleanup()
          client.end(true)
          const who = opts.username !== undefined ? ` of user "${opts.username}"` : ''
          reject(
            new FlashlineError('platform', 'login-refused', `${this.displayUrl} refused the login${who}: ${CONNACK_REASONS[err.code]} (CONNACK ${err.code}) — check the device id and secret (or certificate)`)
          )
          return
        }
        lastError = this.scrub(err.message)
        if (/certificate|self[- ]signed|CERT_|SSL|TLS/i.test(err.message)) {
          cleanup()
          client.end(true)
          reject(new FlashlineError('platform', 'tls-failed', `TLS to ${this.displayUrl} failed: ${lastError} — ${tlsHint(lastError)}`))
        }
      }
      const cleanup = () => {
        clearTimeout(timer)
        this.off('connect', onConnect)
        client.off('error', onError)
      }
      this.once('connect', onConnect)
      client.on('error', onError)
    })
    client.on('error', (err) => this.emit('log', `mqtt: ${this.scrub(err.message)}`))
  }

  /** Publishes with QoS 1 (mqtt.js queues while offline) and resolves on the broker's PUBACK. */
  publish(message: OutboundMessage): Promise<void> {
    const client = this.client
    if (!client) return Promise.reject(new FlashlineError('platform', 'not-connected', 'the MQTT link is not started'))
    return new Promise((resolve, reject) => {
      client.publish(message.topic, message.payload, { qos: message.qos }, (err) => {
        if (err) reject(new FlashlineError('platform', 'publish-failed', `publishing to ${message.topic} failed: ${this.scrub(err.message)}`))
        else resolve()
      })
    })
  }

  async close(): Promise<void> {
    const client = this.client
    this.client = null
    if (!client) return
    // A polite DISCONNECT, but never wait on a broker that is gone.
    await Promise.race([client.endAsync(false).catch(() => undefined), new Promise((r) => setTimeout(r, 2000))])
    if (!client.disconnected) client.end(true)
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
