import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, DetectResult, PortInfo, ProtocolName, SlotSettings } from '../../../../preload/contract'
import { bridgeOf } from '../../bridges'
import { UNKNOWN_VERSION } from '../../format'
import { isPortOpenFailure } from '../../hints'
import { useApp, useInfo, useJob, useLocal, usePackages, usePorts } from '../../store/context'
import { refreshPorts } from '../../store/sync'
import { BootHint } from '../../ui/BootHint'
import { ErrorBox, Hints, failureOfJob } from '../../ui/Hints'
import { Icon } from '../../ui/Icon'
import { PackagePicker } from '../../ui/PackagePicker'
import { PhaseStepper } from '../../ui/PhaseStepper'
import { PortHelp } from '../../ui/PortHelp'
import { Progress } from '../../ui/Progress'
import { StatusBadge } from '../../ui/StatusBadge'
import { knownReason, runStateOf } from '../bench/SlotTile'

const PROTOCOLS: ProtocolName[] = ['ymodem', 'stm32', 'esp', 'mcuboot']
type Step = 1 | 2 | 3 | 4
const STEPS: Step[] = [1, 2, 3, 4]

/**
 * The field engineer's flow for one board, offline: choose the port, wake the bootloader and read
 * the chip, choose or bring the package, then flash, verify and read the version it boots.
 */
export function RecoverView(): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const ports = usePorts()
  const info = useInfo()
  const packages = usePackages()
  const local = useLocal()
  const [step, setStep] = useState<Step>(1)
  const [port, setPort] = useState<string>('')
  const [protocol, setProtocol] = useState<ProtocolName>('stm32')
  const [baud, setBaud] = useState('')
  const [probe, setProbe] = useState('')
  const [detected, setDetected] = useState<DetectResult | null>(null)
  const [sha256, setSha256] = useState<string | undefined>()
  const [jobId, setJobId] = useState<string | undefined>()
  const [error, setError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)
  const job = useJob(jobId)
  const baudBad = baud !== '' && !/^[1-9]\d*$/.test(baud)
  const slot: SlotSettings = { port, protocol, ...(baud && !baudBad ? { baud: Number(baud) } : {}), ...(probe ? { probe: { pattern: probe } } : {}) }
  const chosenPort = ports.find((p) => p.path === port)
  // a port the system does not list (a /dev/serial/by-id link, a pty, a network serial bridge) is typed
  const listed = chosenPort !== undefined

  const go = (s: Step): void => {
    setError(null)
    setStep(s)
  }
  const detect = async (): Promise<void> => {
    setBusy(true)
    setDetected(null)
    const r = await api.detect({ slot })
    setBusy(false)
    if (!r.ok) return setError(r.error)
    setError(null)
    setDetected(r.value)
    if (r.value.protocol !== protocol) setProtocol(r.value.protocol)
  }
  const flash = async (): Promise<void> => {
    if (!sha256) return
    setBusy(true)
    const r = await api.flash({ slot, sha256, serialNumber: local.scannedSerial })
    setBusy(false)
    if (!r.ok) return setError(r.error)
    setError(null)
    setJobId(r.value.jobId)
    store.setLocal({ scannedSerial: undefined })
  }
  const refresh = async (): Promise<void> => setError((await refreshPorts(api, store)) ?? null)
  const jobState = runStateOf(job)
  const canNext: Record<Step, boolean> = { 1: port !== '' && !baudBad, 2: true, 3: !!sha256 && packages.some((p) => p.sha256 === sha256), 4: false }

  return (
    <div className="recover">
      <ol className="wizard-steps" aria-label={t('recover.steps')}>
        {STEPS.map((s) => (
          <li key={s} className={`wizard-step${s === step ? ' wizard-step--current' : ''}${s < step ? ' wizard-step--done' : ''}`} aria-current={s === step ? 'step' : undefined}>
            <button type="button" onClick={() => go(s)} disabled={s > step && !STEPS.slice(0, s - 1).every((x) => canNext[x])}>
              <span className="wizard-step__n">{s}</span> {t(`recover.step${s}`)}
            </button>
          </li>
        ))}
      </ol>

      {step === 1 && (
        <section aria-labelledby="rs1" className="wizard-panel" data-step="1">
          <h2 id="rs1">{t('recover.step1')}</h2>
          <div className="row">
            <button type="button" onClick={() => void refresh()}>
              {t('action.refresh')}
            </button>
          </div>
          {ports.length === 0 ? (
            <p className="empty">{t('recover.noPorts')}</p>
          ) : (
            <div className="port-list" role="radiogroup" aria-label={t('recover.ports')}>
              {ports.map((p) => (
                <PortChoice key={p.path} port={p} checked={p.path === port} onChoose={() => setPort(p.path)} />
              ))}
            </div>
          )}
          <div className="grid-form">
            <label htmlFor="rec-port-path">{t('recover.portPath')}</label>
            <input
              id="rec-port-path"
              className="mono"
              value={listed ? '' : port}
              onChange={(e) => setPort(e.target.value.trim())}
              placeholder="/dev/serial/by-id/…"
              spellCheck={false}
              autoComplete="off"
            />
            <label htmlFor="rec-protocol">{t('slot.protocol')}</label>
            <select id="rec-protocol" value={protocol} onChange={(e) => setProtocol(e.target.value as ProtocolName)}>
              {PROTOCOLS.map((p) => (
                <option key={p} value={p}>
                  {t(`protocol.${p}`)}
                </option>
              ))}
            </select>
            <label htmlFor="rec-baud">{t('slot.baud')}</label>
            <input id="rec-baud" inputMode="numeric" value={baud} onChange={(e) => setBaud(e.target.value)} placeholder={t('slot.baudDefault')} aria-invalid={baudBad} />
          </div>
          {baudBad && <p className="field-error">{t('slot.badBaud')}</p>}
          <details className="port-help-fold">
            <summary>{t('recover.portWontOpen')}</summary>
            <PortHelp platform={info?.platform} />
          </details>
          <div className="row">
            <button type="button" className="primary" disabled={!canNext[1]} onClick={() => go(2)}>
              {t('action.next')}
            </button>
          </div>
        </section>
      )}

      {step === 2 && (
        <section aria-labelledby="rs2" className="wizard-panel" data-step="2">
          <h2 id="rs2">{t('recover.step2')}</h2>
          <p>
            {t('recover.onPort', { port })} · {t(`protocol.${protocol}`)}
          </p>
          <BootHint protocol={protocol} />
          <div className="row">
            <button type="button" className="primary" onClick={() => void detect()} disabled={busy}>
              {busy ? t('recover.detecting') : t('recover.detect')}
            </button>
          </div>
          {detected && (
            <div className="detected" role="status" data-testid="detected">
              <p>
                <Icon name="check" />
                {t('recover.found', { protocol: t(`protocol.${detected.protocol}`) })}
              </p>
              <dl>
                <dt>{t('tile.chip')}</dt>
                <dd>{detected.chip ?? t('common.unknown')}</dd>
                <dt>{t('recover.chipId')}</dt>
                <dd className="mono">{detected.chipId ?? t('common.unknown')}</dd>
                {Object.entries(detected.details ?? {}).map(([k, v]) => (
                  <div key={k} className="detected__detail">
                    <dt className="mono">{k}</dt>
                    <dd className="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
                  </div>
                ))}
              </dl>
            </div>
          )}
          <div className="row">
            <button type="button" onClick={() => go(1)}>
              {t('action.back')}
            </button>
            <button type="button" className="primary" onClick={() => go(3)}>
              {detected ? t('action.next') : t('recover.skipDetect')}
            </button>
          </div>
        </section>
      )}

      {step === 3 && (
        <section aria-labelledby="rs3" className="wizard-panel" data-step="3">
          <h2 id="rs3">{t('recover.step3')}</h2>
          <PackagePicker value={sha256} onChange={setSha256} />
          <div className="row">
            <button type="button" onClick={() => go(2)}>
              {t('action.back')}
            </button>
            <button type="button" className="primary" disabled={!canNext[3]} onClick={() => go(4)}>
              {t('action.next')}
            </button>
          </div>
        </section>
      )}

      {step === 4 && (
        <section aria-labelledby="rs4" className="wizard-panel" data-step="4">
          <h2 id="rs4">{t('recover.step4')}</h2>
          <dl className="summary">
            <dt>{t('slot.port')}</dt>
            <dd className="mono">{port}</dd>
            <dt>{t('slot.protocol')}</dt>
            <dd>{t(`protocol.${protocol}`)}</dd>
            <dt>{t('package.name')}</dt>
            <dd>{packages.find((p) => p.sha256 === sha256)?.name ?? sha256}</dd>
            {local.scannedSerial && (
              <>
                <dt>{t('tile.serial')}</dt>
                <dd className="mono">{local.scannedSerial}</dd>
              </>
            )}
          </dl>
          <div className="grid-form">
            <label htmlFor="rec-probe">{t('recover.probe')}</label>
            <input id="rec-probe" className="mono" value={probe} onChange={(e) => setProbe(e.target.value)} placeholder={t('recover.probePlaceholder')} />
          </div>
          <div className="row">
            <button type="button" onClick={() => go(3)} disabled={jobState === 'running'}>
              {t('action.back')}
            </button>
            <button type="button" className="primary big" onClick={() => void flash()} disabled={busy || jobState === 'running' || !sha256}>
              {job ? t('recover.flashAgain') : t('recover.flash')}
            </button>
            {job && jobState === 'running' && (
              <button type="button" className="danger" onClick={() => void api.cancelJob({ jobId: job.id })}>
                {t('action.cancel')}
              </button>
            )}
          </div>
          {job && (
            <div className={`recover-job tile--${jobState}`} data-job-id={job.id} data-result={jobState}>
              <StatusBadge state={jobState} large />
              <PhaseStepper job={job} />
              {jobState === 'running' && job.progress && <Progress progress={job.progress} label={t('recover.progress')} />}
              {jobState === 'succeeded' && (
                <p className="recover-job__done">
                  {job.probedVersion && job.probedVersion !== UNKNOWN_VERSION ? t('recover.booted', { version: job.probedVersion }) : t('recover.doneNoProbe')}
                  {job.verified === 'device' ? ` ${t('recover.verifiedDevice')}` : ''}
                </p>
              )}
              {jobState === 'failed' && (
                <div>
                  <p className="job-card__reason">{t(`reason.${knownReason(job.reason)}`)}</p>
                  {job.message && <p className="mono small">{job.message}</p>}
                  <Hints failure={failureOfJob(job)} platform={info?.platform} />
                </div>
              )}
            </div>
          )}
        </section>
      )}

      {error && (
        <>
          <ErrorBox error={error} protocol={protocol} platform={info?.platform} />
          {step === 2 && !isPortOpenFailure(error) && error.kind === 'device' && <BootHint protocol={protocol} />}
        </>
      )}
    </div>
  )
}

function PortChoice({ port, checked, onChoose }: { port: PortInfo; checked: boolean; onChoose: () => void }): React.JSX.Element {
  const { t } = useTranslation()
  const bridge = bridgeOf(port)
  const id = `port-${port.path.replace(/[^a-z0-9]/gi, '_')}`
  return (
    <label className={`port-choice${checked ? ' port-choice--checked' : ''}`} htmlFor={id} data-port={port.path}>
      <input id={id} type="radio" name="recover-port" checked={checked} onChange={onChoose} />
      <span className="port-choice__path mono">{port.path}</span>
      {!port.simulated && <span className="port-choice__bridge">{bridge ? t('recover.bridge', { chip: bridge }) : port.vendorId ? t('recover.unknownBridge') : t('recover.noUsb')}</span>}
      {port.vendorId && port.productId && (
        <span className="mono small">
          {port.vendorId}:{port.productId}
        </span>
      )}
      {port.manufacturer && <span className="small">{port.manufacturer}</span>}
      {port.serialNumber && <span className="small mono">{t('recover.usbSerial', { serial: port.serialNumber })}</span>}
      {port.simulated && <span className="tag">{t('recover.simulated')}</span>}
    </label>
  )
}
