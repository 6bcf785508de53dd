import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, JobResult, RecordFilter, RecordView } from '../../../../preload/contract'
import { formatTime, versionText } from '../../format'
import { useApi, useInfo } from '../../store/context'
import { ErrorBox } from '../../ui/Hints'
import { Modal } from '../../ui/Modal'
import { StatusBadge } from '../../ui/StatusBadge'
import { knownReason } from '../bench/SlotTile'
import { downloadText } from './download'

interface Form {
  since: string
  until: string
  result: '' | JobResult
  chipId: string
  serialNumber: string
}

const EMPTY: Form = { since: '', until: '', result: '', chipId: '', serialNumber: '' }

/** A date input (local day) as the ISO instant the day starts; `until` is exclusive, so the day after. */
export function dayStart(date: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) return undefined
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).toISOString()
}

export function filterOf(f: Form): RecordFilter {
  return {
    ...(dayStart(f.since) ? { since: dayStart(f.since) } : {}),
    ...(dayStart(f.until, 1) ? { until: dayStart(f.until, 1) } : {}),
    ...(f.result ? { result: f.result } : {}),
    ...(f.chipId.trim() ? { chipId: f.chipId.trim() } : {}),
    ...(f.serialNumber.trim() ? { serialNumber: f.serialNumber.trim() } : {})
  }
}

const text = (v: RecordView[string] | undefined): string => (v === null || v === undefined ? '' : String(v))
const RESULTS = new Set(['succeeded', 'failed', 'cancelled'])

/** The quality engineer's view: flash records filtered, a job's log, and CSV / JSONL export. */
export function RecordsView(): React.JSX.Element {
  const { t, i18n } = useTranslation()
  const api = useApi()
  const info = useInfo()
  const [form, setForm] = useState<Form>(EMPTY)
  const [rows, setRows] = useState<RecordView[] | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [log, setLog] = useState<{ jobId: string; text: string } | null>(null)
  const badRange = form.since !== '' && form.until !== '' && form.since > form.until

  const query = async (): Promise<void> => {
    const r = await api.queryRecords(filterOf(form))
    if (!r.ok) return setError(r.error)
    setError(null)
    setRows(r.value)
  }
  useEffect(() => {
    void query()
    // the first page shows everything; later queries run on submit
  }, [])

  const exportAs = async (format: 'csv' | 'jsonl'): Promise<void> => {
    const r = await api.exportRecords({ filter: filterOf(form), format })
    if (!r.ok) return setError(r.error)
    downloadText(r.value.fileName, r.value.content, format === 'csv' ? 'text/csv;charset=utf-8' : 'application/x-ndjson')
  }
  const openLog = async (jobId: string): Promise<void> => {
    const r = await api.jobLog({ jobId })
    if (!r.ok) return setError(r.error)
    setLog({ jobId, text: r.value })
  }
  const set = (patch: Partial<Form>): void => setForm((f) => ({ ...f, ...patch }))

  return (
    <div className="records">
      <form
        className="records__filter"
        aria-label={t('records.filter')}
        onSubmit={(e) => {
          e.preventDefault()
          if (!badRange) void query()
        }}
      >
        <label>
          {t('records.since')}
          <input type="date" value={form.since} onChange={(e) => set({ since: e.target.value })} />
        </label>
        <label>
          {t('records.until')}
          <input type="date" value={form.until} onChange={(e) => set({ until: e.target.value })} aria-invalid={badRange} />
        </label>
        <label>
          {t('records.result')}
          <select value={form.result} onChange={(e) => set({ result: e.target.value as Form['result'] })}>
            <option value="">{t('records.anyResult')}</option>
            {(['succeeded', 'failed', 'cancelled'] as const).map((r) => (
              <option key={r} value={r}>
                {t(`state.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('records.chipId')}
          <input className="mono" value={form.chipId} onChange={(e) => set({ chipId: e.target.value })} />
        </label>
        <label>
          {t('records.serialNumber')}
          <input className="mono" value={form.serialNumber} onChange={(e) => set({ serialNumber: e.target.value })} />
        </label>
        <div className="row">
          <button type="submit" className="primary" disabled={badRange}>
            {t('records.apply')}
          </button>
          <button
            type="button"
            onClick={() => {
              setForm(EMPTY)
            }}
          >
            {t('records.clear')}
          </button>
          <button type="button" onClick={() => void exportAs('csv')} disabled={badRange}>
            {t('records.exportCsv')}
          </button>
          <button type="button" onClick={() => void exportAs('jsonl')} disabled={badRange}>
            {t('records.exportJsonl')}
          </button>
        </div>
        {badRange && <p className="field-error">{t('records.badRange')}</p>}
      </form>
      {error && <ErrorBox error={error} platform={info?.platform} />}
      {rows && (
        <>
          <p className="records__count" role="status">
            {t('records.count', { count: rows.length })}
          </p>
          {rows.length > 0 && (
            <div className="table-wrap">
              <table className="records__table">
                <thead>
                  <tr>
                    <th scope="col">{t('records.col.started')}</th>
                    <th scope="col">{t('records.col.result')}</th>
                    <th scope="col">{t('records.col.port')}</th>
                    <th scope="col">{t('records.col.chip')}</th>
                    <th scope="col">{t('records.col.chipId')}</th>
                    <th scope="col">{t('records.col.serial')}</th>
                    <th scope="col">{t('records.col.package')}</th>
                    <th scope="col">{t('records.col.versions')}</th>
                    <th scope="col">{t('records.col.reason')}</th>
                    <th scope="col">{t('records.col.log')}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r, i) => {
                    const result = text(r['result'])
                    const jobId = text(r['job_id'])
                    return (
                      <tr key={jobId || i} data-job-id={jobId}>
                        <td>{formatTime(text(r['started_at']), i18n.language)}</td>
                        <td>{RESULTS.has(result) ? <StatusBadge state={result as JobResult} /> : result}</td>
                        <td className="mono">{text(r['port'])}</td>
                        <td>{text(r['chip'])}</td>
                        <td className="mono">{text(r['chip_id'])}</td>
                        <td className="mono">{text(r['serial_number'])}</td>
                        <td>{text(r['package'])}</td>
                        <td>{[text(r['from_version']), text(r['to_version'])].filter(Boolean).map((v) => versionText(v, t('common.unknown'))).join(' → ')}</td>
                        <td className="small">{text(r['reason']) ? t(`reason.${knownReason(text(r['reason']))}`) : ''}</td>
                        <td>
                          {jobId && (
                            <button type="button" onClick={() => void openLog(jobId)} aria-label={t('records.openLogOf', { id: jobId })}>
                              {t('records.openLog')}
                            </button>
                          )}
                        </td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      {log && (
        <Modal title={t('records.logTitle', { id: log.jobId })} onClose={() => setLog(null)} className="modal--wide">
          <pre className="log" tabIndex={0}>
            {log.text || t('records.emptyLog')}
          </pre>
          <div className="row">
            <button type="button" onClick={() => downloadText(`${log.jobId}.log`, log.text, 'text/plain;charset=utf-8')}>
              {t('records.saveLog')}
            </button>
            <button type="button" onClick={() => setLog(null)}>
              {t('action.close')}
            </button>
          </div>
        </Modal>
      )}
    </div>
  )
}
