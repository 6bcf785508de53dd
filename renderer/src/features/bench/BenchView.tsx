import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, BatchRequest, ProtocolName } from '../../../../preload/contract'
import { loadPersisted, savePersisted } from '../../persisted'
import { isFinished } from '../../store/store'
import { useApp, useBatch, useInfo, useJobs, useLocal, useSettings, useSlots } from '../../store/context'
import { ErrorBox } from '../../ui/Hints'
import { PackagePicker } from '../../ui/PackagePicker'
import { Counters } from './Counters'
import { SerialField } from './SerialField'
import { PortTile, SlotTile } from './SlotTile'
import { DEFAULT_STATION, parseAllowList, type StationSetup } from './station'

const PROTOCOLS: ProtocolName[] = ['ymodem', 'stm32', 'esp', 'mcuboot']

/** The production line: one tile per slot (or per arriving board in station mode), counters and the run's actions. */
export function BenchView(): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const slots = useSlots()
  const batch = useBatch()
  const settings = useSettings()
  const local = useLocal()
  const info = useInfo()
  const jobs = useJobs()
  const operator = settings?.operatorMode ?? false
  const [station, setStationState] = useState<StationSetup>(() => loadPersisted('station', DEFAULT_STATION))
  const [error, setError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)
  const sha256 = local.benchPackage
  const running = batch !== null && batch.state !== 'ended'
  const allow = parseAllowList(station.allowList)
  const countBad = station.count !== '' && !/^[1-9]\d*$/.test(station.count)
  const baudBad = station.baud !== '' && !/^[1-9]\d*$/.test(station.baud)

  const setStation = (patch: Partial<StationSetup>): void => {
    const next = { ...station, ...patch }
    setStationState(next)
    savePersisted('station', next)
  }
  const ports = useMemo(() => {
    const seen: string[] = []
    for (const u of batch?.units ?? []) if (!u.slotId && !seen.includes(u.port)) seen.push(u.port)
    return seen
  }, [batch])

  const act = async (work: () => Promise<ApiError | undefined>): Promise<void> => {
    setBusy(true)
    try {
      setError((await work()) ?? null)
    } finally {
      setBusy(false)
    }
  }

  const startAll = (): Promise<void> =>
    act(async () => {
      if (!sha256) return undefined
      const serialNumber = local.scannedSerial
      let request: BatchRequest
      if (station.enabled) {
        if (!allow.ok) return undefined
        request = {
          sha256,
          serialNumber,
          watch: {
            match: allow.match,
            count: station.count ? Number(station.count) : undefined,
            // each board's port is the one it arrives on; the contract's SlotSettings still wants a name
            slot: { port: 'watch', protocol: station.protocol, ...(station.baud ? { baud: Number(station.baud) } : {}) }
          }
        }
      } else request = { sha256, serialNumber, slotIds: slots.map((s) => s.id) }
      const r = await api.startBatch(request)
      if (!r.ok) return r.error
      store.setBatch(r.value)
      store.setLocal({ scannedSerial: undefined })
    })
  const retry = (): Promise<void> =>
    act(async () => {
      if (!batch) return undefined
      const r = await api.retryFailed({ batchId: batch.id })
      if (!r.ok) return r.error
      store.setBatch(r.value)
    })
  const cancelAll = (): Promise<void> =>
    act(async () => {
      if (running && batch) {
        const r = await api.cancelBatch({ batchId: batch.id })
        if (!r.ok) return r.error
      }
      // jobs on the slots that are no batch's units (a single flash started elsewhere)
      const others = slots.map((s) => store.job(store.jobIdOfSlot(s.id))).filter((j) => j && !isFinished(j) && j.origin !== 'batch')
      for (const j of others) await api.cancelJob({ jobId: j!.id })
      return undefined
    })

  const canStart = !busy && !running && !!sha256 && (station.enabled ? allow.ok && !countBad && !baudBad : slots.length > 0)
  const anyRunning = running || jobs.some((j) => !isFinished(j) && j.slotId !== undefined && slots.some((s) => s.id === j.slotId))

  return (
    <div className="bench">
      <section className="bench__controls" aria-label={t('bench.controls')}>
        <div className="bench__package">
          <PackagePicker value={sha256} onChange={(v) => {
              store.setLocal({ benchPackage: v })
              savePersisted('bench', { benchPackage: v })
            }} readOnly={operator} label={t('bench.package')} />
          {operator && !sha256 && <p className="field-error">{t('bench.askAdmin')}</p>}
        </div>
        <SerialField pattern={settings?.serialPattern} current={local.scannedSerial} onScan={(serial) => store.setLocal({ scannedSerial: serial })} />
        <div className="bench__actions">
          <button type="button" className="primary big" onClick={() => void startAll()} disabled={!canStart}>
            {t('bench.startAll')}
          </button>
          <button type="button" className="big" onClick={() => void retry()} disabled={busy || !batch || batch.failed === 0 || batch.state === 'stopping'}>
            {t('bench.retryFailed')}
          </button>
          <button type="button" className="danger big" onClick={() => void cancelAll()} disabled={busy || !anyRunning}>
            {t('bench.cancelAll')}
          </button>
        </div>
        <fieldset className="bench__station" disabled={operator || running}>
          <legend>{t('station.title')}</legend>
          <label className="check">
            <input type="checkbox" checked={station.enabled} onChange={(e) => setStation({ enabled: e.target.checked })} />
            {t('station.enable')}
          </label>
          {station.enabled && (
            <div className="grid-form">
              <label htmlFor="station-allow">{t('station.allowList')}</label>
              <input id="station-allow" className="mono" value={station.allowList} onChange={(e) => setStation({ allowList: e.target.value })} placeholder="1a86:7523, 10c4:ea60" aria-invalid={!allow.ok} />
              {!allow.ok && <p className="field-error">{allow.bad ? t('station.badPair', { item: allow.bad }) : t('station.needList')}</p>}
              <label htmlFor="station-count">{t('station.count')}</label>
              <input id="station-count" inputMode="numeric" value={station.count} onChange={(e) => setStation({ count: e.target.value })} placeholder={t('station.countPlaceholder')} aria-invalid={countBad} />
              {countBad && <p className="field-error">{t('station.badCount')}</p>}
              <label htmlFor="station-protocol">{t('slot.protocol')}</label>
              <select id="station-protocol" value={station.protocol} onChange={(e) => setStation({ protocol: e.target.value as ProtocolName })}>
                {PROTOCOLS.map((p) => (
                  <option key={p} value={p}>
                    {t(`protocol.${p}`)}
                  </option>
                ))}
              </select>
              <label htmlFor="station-baud">{t('slot.baud')}</label>
              <input id="station-baud" inputMode="numeric" value={station.baud} onChange={(e) => setStation({ baud: e.target.value })} placeholder={t('slot.baudDefault')} aria-invalid={baudBad} />
              {baudBad && <p className="field-error">{t('slot.badBaud')}</p>}
            </div>
          )}
        </fieldset>
      </section>
      {error && <ErrorBox error={error} platform={info?.platform} />}
      <Counters />
      <section className="tiles" aria-label={t('bench.tiles')}>
        {station.enabled ? (
          ports.length === 0 ? (
            <p className="empty">{running ? t('station.waiting') : t('station.idle')}</p>
          ) : (
            ports.map((p) => <PortTile key={p} port={p} />)
          )
        ) : slots.length === 0 ? (
          <p className="empty">{operator ? t('bench.noSlotsOperator') : t('bench.noSlots')}</p>
        ) : (
          slots.map((s) => <SlotTile key={s.id} slotId={s.id} label={s.label} port={s.settings.port} />)
        )}
      </section>
    </div>
  )
}
