// Server-sent events over fetch: unlike EventSource, a refused request still shows its problem document.
import { ensureOk } from './api.js';

/** Reads the event stream at url, calling onEvent(name, data) for each event; throws ApiError on a non-2xx answer. */
export async function readEvents(url, onEvent, signal) {
  const response = await ensureOk(await fetch(url, { headers: { Accept: 'text/event-stream' }, signal }));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
