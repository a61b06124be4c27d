// The official openai SDK, pointed at Parley: only the base URL changes.
//   PARLEY_URL=http://localhost:8000 PARLEY_API_KEY=my-secret-key node examples/openai-sdk.mjs
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: `${process.env.PARLEY_URL ?? 'http://localhost:8000'}/v1`,
  apiKey: process.env.PARLEY_API_KEY ?? 'my-secret-key',
});
const stream = await client.chat.completions.create({
  model: 'default',
  stream: true,
  messages: [{ role: 'user', content: 'Tell me a joke' }],
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
process.stdout.write('\n');
