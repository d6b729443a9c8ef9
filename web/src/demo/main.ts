// The demo page: embeds the widget exactly as a customer would, with the site
// key taken from ?site=KEY (the server prints the full URL on first run).
import './demo.css';

const site = new URLSearchParams(location.search).get('site');
const hint = document.getElementById('hint')!;
if (site) {
  const s = document.createElement('script');
  s.src = '/widget.js';
  s.async = true;
  s.dataset.site = site;
  document.head.appendChild(s);
  hint.textContent = 'Tip: open /admin in another window, log in as an agent and chat with yourself.';
} else {
  hint.textContent = 'This page needs a site key: open /demo?site=YOUR_SITE_KEY (parlor prints the link when it starts).';
  hint.classList.add('warn');
}
document.getElementById('ask')!.addEventListener('click', () => (window as any).Parlor?.open());
