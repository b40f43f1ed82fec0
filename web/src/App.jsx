import { useEffect, useRef } from 'react';
import { ChorusProvider, useChorus } from './context.jsx';
import { href, useRoute } from './lib/router.js';
import { BatchPage } from './components/BatchPage.jsx';
import { ComposePage, MemberPage, MembersPage, NotFoundPage, RecentPage } from './components/pages.jsx';

function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true">
      <defs>
        <linearGradient id="lg" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#7c3aed" /><stop offset="1" stopColor="#db2777" />
        </linearGradient>
      </defs>
      <rect width="32" height="32" rx="9" fill="url(#lg)" />
      {[7, 11, 15, 19, 23].map((x, i) => {
        const h = [8, 14, 20, 12, 6][i];
        return <rect key={x} x={x} y={16 - h / 2} width="2.4" height={h} rx="1.2" fill="#fff" />;
      })}
    </svg>
  );
}

function Header({ route }) {
  const { recent } = useChorus();
  const links = [
    ['members', href.members(), 'Members'],
    ['compose', href.compose(), 'Compose'],
    ['batch', href.batch(), 'Batch'],
    ['recent', href.recent(), (
      <>Recent{recent.length ? <> <span className="nav-count"><span className="visually-hidden">(</span>{recent.length}<span className="visually-hidden">)</span></span></> : null}</>
    )],
  ];
  const current = route.name === 'member' ? 'members' : route.name;
  return (
    <header className="site-header">
      <div className="wrap header-row">
        <a href={href.members()} className="brand"><Logo /><span className="brand-name">Chorus</span></a>
        <nav aria-label="Main">
          <ul className="nav">
            {links.map(([name, to, label]) => (
              <li key={name}><a href={to} aria-current={current === name ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
      </div>
    </header>
  );
}

function Page({ route }) {
  switch (route.name) {
    case 'members': return <MembersPage />;
    case 'member': return <MemberPage key={route.id} id={route.id} />;
    case 'compose': return <ComposePage memberId={route.memberId} />;
    case 'batch': return <BatchPage memberId={route.memberId} />;
    case 'recent': return <RecentPage />;
    default: return <NotFoundPage />;
  }
}

function Shell() {
  const route = useRoute();
  const mainRef = useRef(null);
  const first = useRef(true);
  const key = JSON.stringify(route);

  // After navigation, move focus to the new page's title (keyboard and
  // screen-reader users land on the content) and scroll to the top.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo?.(0, 0);
    const t = mainRef.current?.querySelector('[data-page-title]');
    (t || mainRef.current)?.focus({ preventScroll: true });
  }, [key]);

  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>Skip to content</a>
      <Header route={route} />
      <main id="main" ref={mainRef} tabIndex={-1} className="wrap main">
        <Page route={route} />
      </main>
      <footer className="site-footer wrap">
        <p>Chorus · voices made with care. Clips labelled “demo voice” are generated practice voices.</p>
      </footer>
    </>
  );
}

/** App is the whole UI for an API client. */
export function App({ client, storage }) {
  return (
    <ChorusProvider client={client} storage={storage}>
      <Shell />
    </ChorusProvider>
  );
}
