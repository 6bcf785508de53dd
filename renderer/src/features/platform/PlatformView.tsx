import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, ProfileView } from '../../../../preload/contract'
import { useApp, useConnections, useInfo, useJobs, useProfiles } from '../../store/context'
import { refreshProfiles } from '../../store/sync'
import { ErrorBox } from '../../ui/Hints'
import { SecretState } from '../../ui/SecretState'
import { ConnectionCard } from './ConnectionCard'
import { JobCard } from './JobCard'
import { ProfileForm } from './ProfileForm'

/** The technician's view: platform profiles, live connections and every order as it goes through its steps. */
export function PlatformView(): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const profiles = useProfiles()
  const connections = useConnections()
  const jobs = useJobs()
  const info = useInfo()
  const [editing, setEditing] = useState<ProfileView | 'new' | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [connecting, setConnecting] = useState<string | null>(null)
  const orders = jobs.filter((j) => j.origin === 'platform' || j.origin === 'local').slice(0, 50)

  const connect = async (profileId: string): Promise<void> => {
    setConnecting(profileId)
    const r = await api.connect({ profileId })
    setConnecting(null)
    if (!r.ok) return setError(r.error)
    setError(null)
    store.apply({ type: 'connection', connection: r.value })
    await refreshProfiles(api, store)
  }
  const remove = async (id: string): Promise<void> => {
    const r = await api.removeProfile({ id })
    setError(r.ok ? null : r.error)
    await refreshProfiles(api, store)
  }

  return (
    <div className="platform">
      <section aria-labelledby="profiles-h">
        <div className="section-head">
          <h2 id="profiles-h">{t('profile.title')}</h2>
          <button type="button" onClick={() => setEditing('new')}>
            {t('profile.new')}
          </button>
        </div>
        {editing && <ProfileForm key={editing === 'new' ? 'new' : editing.id} profile={editing === 'new' ? undefined : editing} onDone={() => setEditing(null)} />}
        {profiles.length === 0 ? (
          <p className="empty">{info?.demo ? t('profile.noneDemo') : t('profile.none')}</p>
        ) : (
          <ul className="profiles">
            {profiles.map((p) => {
              // the profile names its connection; a connection also names its profile (a host may fill either)
              const conn = connections.find((c) => c.id === p.connectionId) ?? connections.find((c) => c.profileId === p.id && c.status !== 'stopped')
              const live = conn && conn.status !== 'stopped' && conn.status !== 'failed'
              return (
                <li key={p.id} className="profile" data-profile-id={p.id}>
                  <div>
                    <strong>{p.name}</strong> · {t(`platform.${p.platform}`)} · <span className="mono">{p.broker}</span>
                  </div>
                  <div className="profile__secrets">
                    {(Object.keys(p.secretsSet) as Array<keyof ProfileView['secretsSet']>)
                      .filter((k) => p.secretsSet[k])
                      .map((k) => (
                        <span key={k} className="profile__secret">
                          {t(`secret.${k}`)} <SecretState set />
                        </span>
                      ))}
                  </div>
                  <div className="row">
                    {live ? (
                      <span className="small">{t(`connection.status.${conn.status}`)}</span>
                    ) : (
                      <button type="button" className="primary" disabled={connecting === p.id} onClick={() => void connect(p.id)}>
                        {connecting === p.id ? t('connection.status.connecting') : t('action.connect')}
                      </button>
                    )}
                    <button type="button" onClick={() => setEditing(p)}>
                      {t('action.edit')}
                    </button>
                    <button type="button" className="danger" disabled={live} onClick={() => void remove(p.id)}>
                      {t('action.remove')}
                    </button>
                  </div>
                </li>
              )
            })}
          </ul>
        )}
        {error && <ErrorBox error={error} platform={info?.platform} />}
      </section>

      <section aria-labelledby="connections-h">
        <h2 id="connections-h">{t('connection.title')}</h2>
        {connections.length === 0 ? <p className="empty">{t('connection.none')}</p> : connections.map((c) => <ConnectionCard key={c.id} connection={c} />)}
      </section>

      <section aria-labelledby="orders-h">
        <h2 id="orders-h">{t('job.title')}</h2>
        {orders.length === 0 ? <p className="empty">{t('job.none')}</p> : <div className="job-list">{orders.map((j) => <JobCard key={j.id} jobId={j.id} />)}</div>}
      </section>
    </div>
  )
}
