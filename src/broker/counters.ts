/**
 * Message counters: plain numeric fields kept per queue, exchange, connection (session) and
 * channel, incremented on the hot path (one `++` each, no Maps and no allocation per message), and
 * read later by management to compute rates (RabbitMQ's message_stats and *_details.rate).
 *
 * Invariant: every field only grows (totals are monotonic; rates are differences of two
 * readings). Who counts what: routing counts `published`/`routed`/`unroutable` on exchanges and
 * `published` on queues; the channel counts deliveries, gets, acks, redeliveries, returns and
 * confirms on itself, its session and the queue the envelope came from (RabbitMQ reports queue
 * message_stats from channels too). Deliberately not here: rates and sampling (management).
 */

export class MessageCounters {
  /** Messages received: by an exchange (publish_in), a queue (enqueued), a channel/connection. */
  published = 0;
  /** Exchange: messages that left it for at least one destination (publish_out). */
  routed = 0;
  /** Messages that reached no queue (exchange where they were published, channel/connection). */
  unroutable = 0;
  /** basic.return sent (mandatory and unroutable). */
  returned = 0;
  /** Publisher confirms (basic.ack) earned. */
  confirmed = 0;
  /** basic.deliver to a consumer that acks. */
  delivered = 0;
  /** basic.deliver to a no-ack consumer. */
  deliveredNoAck = 0;
  /** basic.get-ok in ack mode. */
  got = 0;
  /** basic.get-ok with no-ack. */
  gotNoAck = 0;
  /** basic.get-empty answers. */
  gotEmpty = 0;
  /** Deliveries and gets of messages handed out before (redelivered = true). */
  redelivered = 0;
  /** Client acks (basic.ack; no-ack deliveries are not counted here). */
  acked = 0;
  /** Body bytes published (in) and delivered or got (out). */
  bytesIn = 0;
  bytesOut = 0;
}

/** RabbitMQ's deliver_get: every way a message left towards a client. */
export function deliverGet(c: MessageCounters): number {
  return c.delivered + c.deliveredNoAck + c.got + c.gotNoAck;
}

/** Adds `from` into `into` field by field (totals of closed connections, sums for overviews). */
export function addCounters(into: MessageCounters, from: MessageCounters): void {
  into.published += from.published;
  into.routed += from.routed;
  into.unroutable += from.unroutable;
  into.returned += from.returned;
  into.confirmed += from.confirmed;
  into.delivered += from.delivered;
  into.deliveredNoAck += from.deliveredNoAck;
  into.got += from.got;
  into.gotNoAck += from.gotNoAck;
  into.gotEmpty += from.gotEmpty;
  into.redelivered += from.redelivered;
  into.acked += from.acked;
  into.bytesIn += from.bytesIn;
  into.bytesOut += from.bytesOut;
}

/** A copy (a reading to diff against a later one). */
export function snapshot(c: MessageCounters): MessageCounters {
  const s = new MessageCounters();
  addCounters(s, c);
  return s;
}
