// Test set-up: jsdom lacks canvas drawing and object URLs; give it small
// recording fakes so components can be checked for what they drew.
import { cleanup } from '@testing-library/react';
import { afterEach, beforeEach } from 'vitest';

afterEach(() => {
  cleanup();
  localStorage.clear();
  sessionStorage.clear();
  document.title = '';
  window.location.hash = '';
});

class FakeContext2D {
  constructor(canvas) {
    this.canvas = canvas;
    this.ops = [];
  }
  clearRect(...a) { this.ops.push(['clearRect', ...a]); }
  fillRect(...a) { this.ops.push(['fillRect', this.fillStyle, ...a]); }
  setTransform(...a) { this.ops.push(['setTransform', ...a]); }
}

beforeEach(() => {
  const contexts = new WeakMap();
  HTMLCanvasElement.prototype.getContext = function getContext(kind) {
    if (kind !== '2d') return null;
    if (!contexts.has(this)) contexts.set(this, new FakeContext2D(this));
    return contexts.get(this);
  };
  let n = 0;
  URL.createObjectURL = () => `blob:chorus-test/${++n}`;
  URL.revokeObjectURL = () => {};
  HTMLMediaElement.prototype.load = () => {};
  HTMLMediaElement.prototype.pause = () => {};
  window.scrollTo = () => {};
});
