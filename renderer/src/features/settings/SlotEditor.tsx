import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, ProtocolName, SlotSettings, SlotView } from '../../../../preload/contract'
import { bridgeOf } from '../../bridges'
import { useApp, usePorts, useSlots } from '../../store/context'
import { ErrorBox } from '../../ui/Hints'

const PROTOCOLS: ProtocolName[] = ['ymodem', 'stm32', 'esp', 'mcuboot']
const VERIFY = ['auto', 'readback', 'crc', 'none'] as const

interface Draft {
  id?: string
  label: string
  port: string
  protocol: ProtocolName
  baud: string
  verify: (typeof VERIFY)[number]
  unprotect: boolean
}

const draftOf = (s?: SlotView): Draft => ({
  id: s?.id,
  label: s?.label ?? '',
  port: s?.settings.port ?? '',
  protocol: s?.settings.protocol ?? 'stm32',
  baud: s?.settings.baud ? String(s.settings.baud) : '',
  verify: s?.settings.verify ?? 'auto',
  unprotect: s?.settings.unprotect ?? false
})

/** The bench's slots: which port, which protocol; one saved slot is one tile. */
export function SlotEditor(): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const slots = useSlots()
  const ports = usePorts()
  const [draft, setDraft] = useState<Draft | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const baudBad = draft !== null && draft.baud !== '' && !/^[1-9]\d*$/.test(draft.baud)

  const save = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault()
    if (!draft || baudBad) return
    const old = slots.find((s) => s.id === draft.id)
    const settings: SlotSettings = { ...old?.settings, port: draft.port, protocol: draft.protocol, baud: draft.baud ? Number(draft.baud) : undefined, verify: draft.verify, unprotect: draft.unprotect || undefined }
    const r = await api.saveSlot({ id: draft.id, label: draft.label || undefined, settings })
    if (!r.ok) return setError(r.error)
    setError(null)
    setDraft(null)
    const list = await api.listSlots()
    if (list.ok) store.setSlots(list.value)
  }
  const remove = async (id: string): Promise<void> => {
    const r = await api.removeSlot({ id })
    setError(r.ok ? null : r.error)
    const list = await api.listSlots()
    if (list.ok) store.setSlots(list.value)
  }

  return (
    <section aria-labelledby="slots-h" className="settings__section">
      <div className="section-head">
        <h2 id="slots-h">{t('slot.title')}</h2>
        <button type="button" onClick={() => setDraft(draftOf())}>
          {t('slot.add')}
        </button>
      </div>
      {slots.length === 0 ? (
        <p className="empty">{t('slot.none')}</p>
      ) : (
        <table className="slots-table">
          <thead>
            <tr>
              <th scope="col">{t('slot.label')}</th>
              <th scope="col">{t('slot.port')}</th>
              <th scope="col">{t('slot.protocol')}</th>
              <th scope="col">{t('slot.baud')}</th>
              <th scope="col">{t('slot.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {slots.map((s) => (
              <tr key={s.id} data-slot-id={s.id}>
                <td>{s.label}</td>
                <td className="mono">{s.settings.port}</td>
                <td>{t(`protocol.${s.settings.protocol}`)}</td>
                <td>{s.settings.baud ?? t('slot.baudDefault')}</td>
                <td>
                  <div className="row">
                    <button type="button" onClick={() => setDraft(draftOf(s))}>
                      {t('action.edit')}
                    </button>
                    <button type="button" className="danger" onClick={() => void remove(s.id)}>
                      {t('action.remove')}
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {draft && (
        <form className="grid-form slot-form" onSubmit={(e) => void save(e)} aria-label={draft.id ? t('slot.edit') : t('slot.add')}>
          <label htmlFor="slot-label">{t('slot.label')}</label>
          <input id="slot-label" value={draft.label} onChange={(e) => setDraft({ ...draft, label: e.target.value })} placeholder={t('slot.labelPlaceholder')} />
          <label htmlFor="slot-port">{t('slot.port')}</label>
          <input id="slot-port" required className="mono" list="slot-ports" value={draft.port} onChange={(e) => setDraft({ ...draft, port: e.target.value })} />
          <datalist id="slot-ports">
            {ports.map((p) => (
              <option key={p.path} value={p.path}>
                {bridgeOf(p) ?? p.manufacturer ?? ''}
              </option>
            ))}
          </datalist>
          <label htmlFor="slot-protocol">{t('slot.protocol')}</label>
          <select id="slot-protocol" value={draft.protocol} onChange={(e) => setDraft({ ...draft, protocol: e.target.value as ProtocolName })}>
            {PROTOCOLS.map((p) => (
              <option key={p} value={p}>
                {t(`protocol.${p}`)}
              </option>
            ))}
          </select>
          <label htmlFor="slot-baud">{t('slot.baud')}</label>
          <input id="slot-baud" inputMode="numeric" value={draft.baud} onChange={(e) => setDraft({ ...draft, baud: e.target.value })} placeholder={t('slot.baudDefault')} aria-invalid={baudBad} />
          {baudBad && <p className="field-error">{t('slot.badBaud')}</p>}
          <label htmlFor="slot-verify">{t('slot.verify')}</label>
          <select id="slot-verify" value={draft.verify} onChange={(e) => setDraft({ ...draft, verify: e.target.value as Draft['verify'] })}>
            {VERIFY.map((v) => (
              <option key={v} value={v}>
                {t(`verify.${v}`)}
              </option>
            ))}
          </select>
          {draft.protocol === 'stm32' && (
            <>
              <span />
              <label className="check">
                <input type="checkbox" checked={draft.unprotect} onChange={(e) => setDraft({ ...draft, unprotect: e.target.checked })} />
                {t('slot.unprotect')}
              </label>
            </>
          )}
          <span />
          <div className="row">
            <button type="submit" className="primary">
              {t('action.save')}
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              {t('action.close')}
            </button>
          </div>
        </form>
      )}
      {error && <ErrorBox error={error} />}
    </section>
  )
}
