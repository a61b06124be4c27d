// The official openai SDK, pointed at Parley.
//   PARLEY_URL=http://localhost:8000 PARLEY_API_KEY=your_api_key node examples/openai-sdk.mjs
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: `${process.env.PARLEY_URL ?? 'http://localhost:8000'}/v1`,
  apiKey: process.env.PARLEY_API_KEY ?? 'your_api_key_here',
});

const stream = await client.chat.completions.create({
  model: 'default',
  messages: [{ role: 'user', content: 'Tell me a joke' }],
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
process.stdout.write('\n');
