// Stream a chat completion from Parley with plain fetch (the loop from Parley's seed document).
//   PARLEY_URL=http://localhost:8000 PARLEY_API_KEY=my-secret-key node examples/stream.mjs
const BASE_URL = process.env.PARLEY_URL ?? 'http://localhost:8000';
const API_KEY = process.env.PARLEY_API_KEY ?? 'my-secret-key';

const response = await fetch(`${BASE_URL}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
  body: JSON.stringify({ model: 'default', stream: true, messages: [{ role: 'user', content: 'Tell me a joke' }] }),
});
if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
const reader = response.body.getReader();
const decoder = new TextDecoder();
let buffered = ''; // an event can arrive split across reads: keep the unfinished line
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  buffered += decoder.decode(value, { stream: true });
  const lines = buffered.split('\n');
  buffered = lines.pop();
  for (const line of lines) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const data = JSON.parse(line.slice(6));
    if (data.error) throw new Error(data.error.message);
    process.stdout.write(data.choices[0]?.delta?.content ?? '');
  }
}
process.stdout.write('\n');
