import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonTooDeep } from './json-depth.ts';

describe('jsonTooDeep', () => {
  it('counts arrays and objects together', () => {
    assert.equal(jsonTooDeep('{"a":[{"b":[1]}]}', 4), false);
    assert.equal(jsonTooDeep('{"a":[{"b":[1]}]}', 3), true);
    assert.equal(jsonTooDeep('[]', 1), false);
    assert.equal(jsonTooDeep('1', 0), false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(jsonTooDeep('{"a":"[[[[{{{{"}', 1), false);
    assert.equal(jsonTooDeep('{"a":"\\"[[[[","b":"\\\\"}', 1), false);
    assert.equal(jsonTooDeep('{"a":"\\\\","b":[[1]]}', 2), true);
  });

  it('finds 30,000 nested arrays in a 60 KB text without recursing', () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    assert.equal(jsonTooDeep(deep, 32), true);
    assert.equal(jsonTooDeep(Buffer.from(`{"m":${deep}}`), 32), true);
  });

  it('keeps counting past unbalanced closers (malformed JSON is the parser\'s to refuse)', () => {
    assert.equal(jsonTooDeep(']]]]', 1), false);
  });
});
