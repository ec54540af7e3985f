/** Clients: the connected MQTT clients, each with a kick button (`DELETE /api/v5/clients/{id}`). */
import { useState } from 'preact/hooks';

import { api, errorText } from '../api.js';
import { usePoll } from '../poll.js';
import type { Client, List } from '../types.js';

export function Clients() {
  const { data, error, refresh } = usePoll(
    async () => (await api<List<Client>>('GET', '/api/v5/clients')).data,
    2000,
  );
  const [note, setNote] = useState<{ kind: 'ok' | 'error'; text: string }>();

  async function kick(id: string): Promise<void> {
    setNote(undefined);
    try {
      await api('DELETE', `/api/v5/clients/${encodeURIComponent(id)}`);
      setNote({ kind: 'ok', text: `Client ${id} disconnected.` });
    } catch (e) {
      setNote({ kind: 'error', text: errorText(e) });
    }
    refresh();
  }

  return (
    <>
      <h1>Clients</h1>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      {note ? (
        <p role={note.kind === 'error' ? 'alert' : 'status'} class={note.kind}>
          {note.text}
        </p>
      ) : null}
      {data && data.length === 0 ? <p data-testid="no-clients">No client is connected.</p> : null}
      {data && data.length > 0 ? (
        <table>
          <caption class="sr-only">Connected MQTT clients</caption>
          <thead>
            <tr>
              <th scope="col">Client id</th>
              <th scope="col">User name</th>
              <th scope="col">Address</th>
              <th scope="col">Listener</th>
              <th scope="col">MQTT</th>
              <th scope="col">Subscriptions</th>
              <th scope="col">Connected at</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.map((c) => (
              <tr key={c.clientid} data-client={c.clientid}>
                <th scope="row">
                  {c.clientid}
                  {c.paused ? <span class="badge suspended"> paused</span> : null}
                </th>
                <td>{c.username ?? '–'}</td>
                <td>{c.ip_address ?? '–'}</td>
                <td>{c.listener}</td>
                <td>{c.proto_ver === 5 ? '5' : c.proto_ver === 4 ? '3.1.1' : '3.1'}</td>
                <td>{c.subscriptions_cnt}</td>
                <td>{new Date(c.connected_at).toLocaleString()}</td>
                <td>
                  <button type="button" onClick={() => void kick(c.clientid)}>
                    Kick<span class="sr-only"> {c.clientid}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
