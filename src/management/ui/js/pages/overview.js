// Overview: totals (connections, channels, exchanges, queues, consumers; ready/unacked messages),
// the live message-rate chart (publish, deliver/get, ack, sampled on each refresh) and listeners.
import { api } from '../api.js';
import { fmtNum, h, kv, rateOf, replace, section } from '../dom.js';
import { rateChart } from '../chart.js';

/** Rate samples kept for the chart across page visits (5 minutes at one per refresh). */
const HISTORY_MAX = 60;
const history = [];

const SERIES = [
  { key: 'publish', label: 'Publish', color: '#e07b00' },
  { key: 'deliver_get', label: 'Deliver / get', color: '#2a7ab0' },
  { key: 'ack', label: 'Ack', color: '#3a9a3a' },
];

export async function mount(root, _params, app) {
  const totals = h('div', { class: 'cards', id: 'totals' });
  const queued = h('div', { class: 'cards', id: 'queued' });
  const chart = h('div');
  const listeners = h('div');
  root.append(
    h('h1', {}, 'Overview'),
    section('Totals', totals),
    section('Queued messages', queued),
    section('Message rates', chart),
    section('Listeners', listeners),
  );
  const refresh = async () => {
    const ov = await api('GET', '/overview');
    app.overview = ov;
    const ms = ov.message_stats || {};
    history.push({ t: Date.now(), ...Object.fromEntries(SERIES.map((sr) => [sr.key, rateOf(ms, sr.key)])) });
    if (history.length > HISTORY_MAX) history.shift();
    const o = ov.object_totals || {};
    replace(totals, ['connections', 'channels', 'exchanges', 'queues', 'consumers'].map((k) => card(k, o[k])));
    const q = ov.queue_totals || {};
    replace(queued, card('ready', q.messages_ready), card('unacked', q.messages_unacknowledged), card('total', q.messages));
    replace(chart, rateChart(history, SERIES, 'rates'));
    const rows = (ov.listeners || []).map((l) => [l.protocol, `${l.ip_address}:${l.port}`]);
    replace(listeners, kv(rows));
  };
  await refresh();
  return refresh;
}

function card(label, value) {
  const shown = h('div', { class: 'value' }, fmtNum(value || 0));
  return h('div', { class: 'card', id: `total-${label}` }, shown, h('div', { class: 'label' }, label));
}
