import { EventEmitter } from 'node:events'
import { rootCertificates } from 'node:tls'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { FlashlineError } from '../errors'
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
    throw new FlashlineError('usage', 'bad-broker-url', `--broker "${url}" is not a URL; expected mqtt://host:port or mqtts://host:port`)
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') {
    throw new FlashlineError('usage', 'bad-broker-url', `--broker must start with mqtt:// or mqtts://, got "${parsed.protocol}//"`)
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
  if (/alert certificate required/i.test(message)) return 'the broker requires a client certificate: log in with --cert and --key'
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|unsupported certificate)/i.test(message)) {
    return 'the broker did not accept the client certificate: check that --cert/--key were issued by a CA the broker trusts and are still valid'
  }
  return "pass the broker's CA with --ca"
}

/**
 * The device's MQTT session: logs in (recomputing the login before every reconnect, since some
 * passwords carry a timestamp), subscribes explicitly, publishes with QoS 1 and resolves only on PUBACK.
 * Events: 'connect', 'offline', 'message' (topic, payload), 'log' (text).
 */
export class MqttLink extends EventEmitter {
  private client: MqttClient | null = null

  constructor(private readonly options: MqttLinkOptions) {
    super()
    validateBrokerUrl(options.brokerUrl)
  }

  get connected(): boolean {
    return this.client?.connected ?? false
  }

  /** Connects; rejects with a platform error if the broker cannot be reached or refuses the login. */
  async start(): Promise<void> {
    const login = this.options.login(new Date())
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
    const client = mqtt.connect(this.options.brokerUrl, opts)
    this.client = client

    client.on('reconnect', () => {
      const fresh = this.options.login(new Date())
      client.options.clientId = fresh.clientId
      client.options.username = fresh.username
      client.options.password = fresh.password as IClientOptions['password']
    })
    client.on('connect', () => {
      client.subscribe(this.options.subscriptions, { qos: 1 }, (err) => {
        if (err) this.emit('log', `subscribe failed: ${err.message}`)
        this.emit('connect')
      })
    })
    client.on('offline', () => this.emit('offline'))
    client.on('message', (topic, payload) => this.emit('message', topic, payload))

    await new Promise<void>((resolve, reject) => {
      const timeoutMs = this.options.connectTimeoutMs ?? 30_000
      let lastError = ''
      const timer = setTimeout(() => {
        cleanup()
        client.end(true)
        reject(new FlashlineError('platform', 'broker-unreachable', `cannot connect to ${this.options.brokerUrl} within ${Math.round(timeoutMs / 1000)} s${lastError ? `: ${lastError}` : ''} — check the address, port, network and TLS settings`))
      }, timeoutMs)
      const onConnect = () => {
        cleanup()
        resolve()
      }
      const onError = (err: Error & { code?: number | string }) => {
        if (typeof err.code === 'number' && CONNACK_REASONS[err.code]) {
          cleanup()
          client.end(true)
          reject(new FlashlineError('platform', 'login-refused', `the broker refused the login: ${CONNACK_REASONS[err.code]} — check the device id and secret (or certificate)`))
          return
        }
        lastError = err.message
        if (/certificate|self[- ]signed|CERT_|SSL|TLS/i.test(err.message)) {
          cleanup()
          client.end(true)
          reject(new FlashlineError('platform', 'tls-failed', `TLS to ${this.options.brokerUrl} failed: ${err.message} — ${tlsHint(err.message)}`))
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
    client.on('error', (err) => this.emit('log', `mqtt: ${err.message}`))
  }

  /** Publishes with QoS 1 (mqtt.js queues while offline) and resolves on the broker's PUBACK. */
  publish(message: OutboundMessage): Promise<void> {
    const client = this.client
    if (!client) return Promise.reject(new FlashlineError('platform', 'not-connected', 'the MQTT link is not started'))
    return new Promise((resolve, reject) => {
      client.publish(message.topic, message.payload, { qos: message.qos }, (err) => {
        if (err) reject(new FlashlineError('platform', 'publish-failed', `publishing to ${message.topic} failed: ${err.message}`))
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
