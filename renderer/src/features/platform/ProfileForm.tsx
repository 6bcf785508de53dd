import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, PlatformName, ProfileInput, ProfileSecrets, ProfileView } from '../../../../preload/contract'
import { useApp, useInfo, useSlots } from '../../store/context'
import { refreshProfiles } from '../../store/sync'
import { ErrorBox } from '../../ui/Hints'
import { SecretState } from '../../ui/SecretState'

type SecretName = keyof ProfileSecrets

/** The secrets each platform logs in with (IoTDA: device secret or X.509; FogCloud: device secret; Wudun: broker password). */
const SECRETS_OF: Record<PlatformName, SecretName[]> = {
  iotda: ['secret', 'cert', 'key'],
  fogcloud: ['deviceSecret', 'password'],
  wudun: ['password']
}
const PEM: SecretName[] = ['cert', 'key']

const emptyProfile = (): ProfileInput => ({ name: '', platform: 'iotda', broker: '', devices: [] })

/** Creates or edits a platform profile; secrets are written only, never shown (set / not set). */
export function ProfileForm({ profile, onDone }: { profile?: ProfileView; onDone: () => void }): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const info = useInfo()
  const slots = useSlots()
  const id = useId()
  const [p, setP] = useState<ProfileInput>(() => (profile ? stripView(profile) : emptyProfile()))
  const [secrets, setSecrets] = useState<ProfileSecrets>({})
  const [error, setError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)
  const set = (patch: Partial<ProfileInput>): void => setP((old) => ({ ...old, ...patch }))
  const f = (name: string): string => `${id}-${name}`
  const invalid = (field: string): boolean => error?.field === `profile.${field}`

  const save = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    const given = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v)) as ProfileSecrets
    const r = await api.saveProfile({ profile: p, secrets: Object.keys(given).length ? given : undefined })
    setBusy(false)
    if (!r.ok) return setError(r.error)
    await refreshProfiles(api, store)
    onDone()
  }

  return (
    <form className="profile-form" onSubmit={(e) => void save(e)} aria-label={profile ? t('profile.edit') : t('profile.new')}>
      <div className="grid-form">
        <label htmlFor={f('name')}>{t('profile.name')}</label>
        <input id={f('name')} required value={p.name} onChange={(e) => set({ name: e.target.value })} aria-invalid={invalid('name')} />
        <label htmlFor={f('platform')}>{t('profile.platform')}</label>
        <select id={f('platform')} value={p.platform} onChange={(e) => set({ platform: e.target.value as PlatformName })}>
          {(['iotda', 'fogcloud', 'wudun'] as const).map((pl) => (
            <option key={pl} value={pl}>
              {t(`platform.${pl}`)}
            </option>
          ))}
        </select>
        <label htmlFor={f('broker')}>{t('profile.broker')}</label>
        <input id={f('broker')} required className="mono" value={p.broker} onChange={(e) => set({ broker: e.target.value })} placeholder="mqtts://host:8883" aria-invalid={invalid('broker')} />
        <label htmlFor={f('username')}>{t('profile.username')}</label>
        <input id={f('username')} value={p.username ?? ''} onChange={(e) => set({ username: e.target.value || undefined })} />

        {p.platform === 'iotda' && (
          <>
            <label htmlFor={f('deviceId')}>{t('profile.iotdaDeviceId')}</label>
            <input id={f('deviceId')} required className="mono" value={p.iotda?.deviceId ?? ''} onChange={(e) => set({ iotda: { ...p.iotda, deviceId: e.target.value } })} aria-invalid={invalid('iotda.deviceId')} />
            <span />
            <label className="check">
              <input type="checkbox" checked={p.iotda?.checkTimestamp ?? false} onChange={(e) => set({ iotda: { deviceId: p.iotda?.deviceId ?? '', checkTimestamp: e.target.checked } })} />
              {t('profile.checkTimestamp')}
            </label>
          </>
        )}
        {p.platform === 'fogcloud' && (
          <>
            <label htmlFor={f('productKey')}>{t('profile.productKey')}</label>
            <input id={f('productKey')} required className="mono" value={p.fogcloud?.productKey ?? ''} onChange={(e) => set({ fogcloud: { deviceName: '', ...p.fogcloud, productKey: e.target.value } })} />
            <label htmlFor={f('deviceName')}>{t('profile.deviceName')}</label>
            <input id={f('deviceName')} required className="mono" value={p.fogcloud?.deviceName ?? ''} onChange={(e) => set({ fogcloud: { productKey: '', ...p.fogcloud, deviceName: e.target.value } })} />
            <label htmlFor={f('module')}>{t('profile.module')}</label>
            <input id={f('module')} className="mono" value={p.fogcloud?.module ?? ''} onChange={(e) => set({ fogcloud: { productKey: '', deviceName: '', ...p.fogcloud, module: e.target.value || undefined } })} />
          </>
        )}
        {p.platform === 'wudun' && (
          <>
            <label htmlFor={f('deviceUid')}>{t('profile.deviceUid')}</label>
            <input id={f('deviceUid')} required className="mono" value={p.wudun?.deviceUid ?? ''} onChange={(e) => set({ wudun: { ...p.wudun, deviceUid: e.target.value } })} />
            <label htmlFor={f('topicPrefix')}>{t('profile.topicPrefix')}</label>
            <input id={f('topicPrefix')} className="mono" value={p.wudun?.topicPrefix ?? ''} onChange={(e) => set({ wudun: { deviceUid: '', ...p.wudun, topicPrefix: e.target.value || undefined } })} />
            <label htmlFor={f('source')}>{t('profile.source')}</label>
            <input id={f('source')} className="mono" value={p.wudun?.source ?? ''} onChange={(e) => set({ wudun: { deviceUid: '', ...p.wudun, source: e.target.value || undefined } })} />
          </>
        )}

        <label htmlFor={f('ca')}>{t('profile.ca')}</label>
        <textarea id={f('ca')} className="mono" rows={3} value={p.ca ?? ''} onChange={(e) => set({ ca: e.target.value || undefined })} placeholder="-----BEGIN CERTIFICATE-----" />
        <span />
        <label className="check">
          <input type="checkbox" checked={p.allowHttp ?? false} onChange={(e) => set({ allowHttp: e.target.checked || undefined })} />
          {t('profile.allowHttp')}
        </label>
        <span />
        <label className="check">
          <input type="checkbox" checked={p.allowUnverified ?? false} onChange={(e) => set({ allowUnverified: e.target.checked || undefined })} />
          {t('profile.allowUnverified')}
        </label>
      </div>

      <fieldset>
        <legend>{t('profile.secrets')}</legend>
        <p className="small">{t('profile.secretsNote')}</p>
        <div className="grid-form">
          {SECRETS_OF[p.platform].map((s) => (
            <SecretInput key={s} id={f(`secret-${s}`)} name={s} pem={PEM.includes(s)} isSet={profile?.secretsSet[s] ?? false} value={secrets[s] ?? ''} onChange={(v) => setSecrets((old) => ({ ...old, [s]: v }))} />
          ))}
        </div>
      </fieldset>

      <fieldset>
        <legend>{t('profile.devices')}</legend>
        {p.devices.length === 0 && <p className="small">{t('profile.noDevices')}</p>}
        {p.devices.map((d, i) => (
          <div className="device-row" key={i}>
            <label>
              {t('profile.deviceId')}
              <input className="mono" value={d.id} onChange={(e) => set({ devices: p.devices.map((x, j) => (j === i ? { ...x, id: e.target.value } : x)) })} />
            </label>
            <label>
              {t('profile.slot')}
              <select value={d.slotId} onChange={(e) => set({ devices: p.devices.map((x, j) => (j === i ? { ...x, slotId: e.target.value } : x)) })}>
                <option value="">{t('profile.chooseSlot')}</option>
                {slots.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.label} ({s.settings.port})
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('profile.currentVersion')}
              <input value={d.currentVersion} onChange={(e) => set({ devices: p.devices.map((x, j) => (j === i ? { ...x, currentVersion: e.target.value } : x)) })} />
            </label>
            <button type="button" onClick={() => set({ devices: p.devices.filter((_, j) => j !== i) })}>
              {t('action.remove')}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => set({ devices: [...p.devices, { id: '', slotId: slots[0]?.id ?? '', currentVersion: '' }] })}>
          {t('profile.addDevice')}
        </button>
      </fieldset>

      {error && <ErrorBox error={error} platform={info?.platform} />}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {t('action.save')}
        </button>
        <button type="button" onClick={onDone}>
          {t('action.close')}
        </button>
      </div>
    </form>
  )
}

function SecretInput({ id, name, pem, isSet, value, onChange }: { id: string; name: SecretName; pem: boolean; isSet: boolean; value: string; onChange: (v: string) => void }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <>
      <label htmlFor={id}>
        {t(`secret.${name}`)} <SecretState set={isSet} />
      </label>
      {pem ? (
        <textarea id={id} className="mono masked" rows={2} value={value} onChange={(e) => onChange(e.target.value)} placeholder={isSet ? t('profile.keepSecret') : '-----BEGIN …'} autoComplete="off" spellCheck={false} />
      ) : (
        <input id={id} type="password" value={value} onChange={(e) => onChange(e.target.value)} placeholder={isSet ? t('profile.keepSecret') : ''} autoComplete="new-password" />
      )}
    </>
  )
}

/** The editable part of a saved profile (what saveProfile takes back). */
function stripView(v: ProfileView): ProfileInput {
  const { secretsSet: _s, connectionId: _c, ...input } = v
  return input
}
