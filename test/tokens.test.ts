import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTokens, estimatePromptTokens } from '../src/usage/tokens.js';

test('countTokens uses a real BPE tokenizer, not characters/4', () => {
  assert.equal(countTokens(''), 0);
  assert.equal(countTokens('hello world'), 2);
  // A long common word is one token; a character heuristic would say 3.
  assert.equal(countTokens(' international'), 1);
});

test('estimatePromptTokens counts every message, the tools and the per-message overhead', () => {
  const one = estimatePromptTokens({ messages: [{ role: 'user', content: 'hello world' }] });
  assert.equal(one, 3 + 3 + 2);
  const parts = estimatePromptTokens({
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hello world' }] }],
  });
  assert.equal(parts, one);
  const withTools = estimatePromptTokens({
    messages: [{ role: 'user', content: 'hello world' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
  });
  assert.ok(withTools > one + 5, `${withTools} should count the tool definition`);
});
