import { describe, expect, it } from 'vitest'
import type { PlatformAdapter } from '../main/engine/platforms/adapter'
import { fuzzTarget, prng, TARGETS, type FuzzTarget } from '../scripts/fuzz-downlinks'

const iotda = TARGETS[0]!

describe('npm run fuzz', () => {
  it('counts a decoder that reports decode-error as a failure', () => {
    const broken: PlatformAdapter = { ...iotda.adapter, decode: () => [{ type: 'decode-error', error: 'RangeError: Maximum call stack size exceeded' }] }
    const r = fuzzTarget({ ...iotda, adapter: broken }, 50, 1)
    expect(r.counts.crash).toBe(50)
    expect(r.counts['decode-error']).toBe(50)
    expect(r.failures[0]!.error).toMatch(/decode-error: RangeError/)
  })

  it('counts a decoder that throws, or keeps an unbounded value in an order, as a failure', () => {
    const throwing: PlatformAdapter = { ...iotda.adapter, decode: () => { throw new Error('boom') } }
    expect(fuzzTarget({ ...iotda, adapter: throwing }, 20, 1).counts.crash).toBe(20)
    const hoarding: PlatformAdapter = {
      ...iotda.adapter,
      decode: (topic, payload, ctx) =>
        iotda.adapter.decode(topic, payload, ctx).map((a) => (a.type === 'order' ? { ...a, order: { ...a.order, wire: { kept: 'x'.repeat(100_000) } } } : a))
    }
    const r = fuzzTarget({ ...iotda, adapter: hoarding }, 500, 1)
    expect(r.counts.order).toBeGreaterThan(0)
    expect(r.counts.crash).toBe(r.counts.order)
    expect(r.failures[0]!.error).toMatch(/the order keeps \d+ characters of JSON/)
  })

  it('the platform adapters survive a short run with every outcome represented and no failure', () => {
    for (const t of TARGETS as FuzzTarget[]) {
      const r = fuzzTarget(t, 3000, 7)
      expect(r.failures, `${t.name}: ${JSON.stringify(r.failures).slice(0, 500)}`).toEqual([])
      expect(r.counts.crash).toBe(0)
      expect(r.counts.order, t.name).toBeGreaterThan(0)
      expect(r.counts.refuse, t.name).toBeGreaterThan(0)
      expect(r.counts.ignored, t.name).toBeGreaterThan(0)
    }
  })

  it('its generator reaches every residue of the choices it makes', () => {
    const rnd = prng(20261122)
    for (const n of [10, 15, 26]) {
      const seen = new Set<number>()
      for (let i = 0; i < 2000; i++) seen.add(rnd(n))
      expect(seen.size, `n=${n}`).toBe(n)
    }
  })
})
