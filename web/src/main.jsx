import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';
import { createClient } from './lib/api.js';
import { loadConfig } from './lib/config.js';
import './styles.css';

const root = createRoot(document.getElementById('root'));

function ConfigFailure() {
  return (
    <main className="wrap main">
      <h1 className="page-title">Chorus can't start</h1>
      <div className="notice notice-error" role="alert">
        <p>We couldn't load Chorus's settings. Please reload the page in a moment.</p>
        <button type="button" className="btn btn-secondary" onClick={() => window.location.reload()}>Reload</button>
      </div>
    </main>
  );
}

loadConfig().then(
  (config) => root.render(<StrictMode><App client={createClient(config)} /></StrictMode>),
  (err) => {
    console.warn('chorus: configuration failed:', err); // for operators; fans see the page below
    root.render(<ConfigFailure />);
  },
);
