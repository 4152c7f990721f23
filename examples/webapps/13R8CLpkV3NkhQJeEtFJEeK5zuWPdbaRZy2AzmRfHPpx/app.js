// The gateway injected window.__FREENET_AUTH_TOKEN__ when it served this page (one token per page load).
(function () {
  const statusEl = document.getElementById('status');
  const key = location.pathname.split('/')[4] || '';
  document.getElementById('contract').textContent = key;
  function show(text, cls) {
    statusEl.textContent = text;
    statusEl.className = cls;
  }
  const token = window.__FREENET_AUTH_TOKEN__;
  if (!token) {
    show('no auth token injected', 'bad');
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket, so the token travels as the authToken query parameter.
  const url = scheme + '//' + location.host + '/v1/contract/command?encodingProtocol=flatbuffers&authToken=' + encodeURIComponent(token);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = function () { show('connected (authenticated)', 'ok'); };
  ws.onclose = function (ev) {
    show(ev.code === 4401 ? 'refused: token unknown or expired (4401), reload the page' : 'closed (' + ev.code + ')', 'bad');
  };
})();
