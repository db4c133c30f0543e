/** How events look in the terminal (the `--json` mode prints them as they are). */
import type { PeerEvent } from '../events.ts';

function clock(ts: number): string {
  return new Date(ts).toTimeString().slice(0, 8);
}

export function shortId(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}

/** One line per event, or undefined for events not worth a line in the terminal. */
export function renderEvent(event: PeerEvent, currentRoom: string | undefined): string | undefined {
  switch (event.type) {
    case 'message': {
      const where = event.room === currentRoom ? '' : `#${event.room} `;
      return `[${clock(event.ts)}] ${where}<${event.nick}> ${event.text}`;
    }
    case 'sent': {
      const where = event.room === currentRoom ? '' : `#${event.room} `;
      return `[${clock(event.ts)}] ${where}<you> ${event.text}`;
    }
    case 'ready':
      return `* you are ${event.nick} (${event.peerId})\n* listening on ${event.addrs.join(', ')}\n* type a line to chat, /help for commands`;
    case 'room-joined':
      return `* joined #${event.room}`;
    case 'room-left':
      return `* left #${event.room}`;
    case 'peer-connected':
      return `* connected to ${shortId(event.peerId)}`;
    case 'peer-disconnected':
      return `* disconnected from ${shortId(event.peerId)}`;
    case 'bootstrap':
      return `* ${event.message}`;
    case 'rejected':
      return undefined;
    case 'info':
      return event.message;
    case 'error':
      return `! ${event.message}`;
  }
}
