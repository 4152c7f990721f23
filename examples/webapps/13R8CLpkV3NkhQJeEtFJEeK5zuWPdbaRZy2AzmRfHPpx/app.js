// The example contract's web app. It talks to the gateway with the official client library
// (@freenetorg/freenet-stdlib's FreenetWsApi, bundled as window.FreenetStdlib by `npm run build`),
// authenticated with the token the gateway injected into this page (window.__FREENET_AUTH_TOKEN__).
(function () {
  'use strict';
  const F = window.FreenetStdlib;
  const KEY = location.pathname.split('/')[4] || '';
  // This contract's code and (empty) parameters: its key is BLAKE3(BLAKE3(code) || parameters).
  const CODE = new TextEncoder().encode('node-gateway example contract v1');
  const $ = (id) => document.getElementById(id);
  const show = (text, cls) => {
    $('status').textContent = text;
    $('status').className = cls;
  };
  const bytes = (s) => Array.from(new TextEncoder().encode(s));
  const text = (b) => new TextDecoder().decode(new Uint8Array(b || []));
  $('contract').textContent = KEY;

  const token = window.__FREENET_AUTH_TOKEN__;
  if (!F || !token) {
    show(!F ? 'client library missing (run npm run build)' : 'no auth token injected', 'bad');
    return;
  }
  const key = () => F.ContractKey.fromInstanceId(KEY);
  let notifications = 0;
  let subscribed = false;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const api = new F.FreenetWsApi(
    new URL(scheme + '//' + location.host + '/v1/contract/command'),
    {
      onOpen: () => {
        show('connected', 'ok');
        save($('state').value);
      },
      // Subscribe once the contract exists: subscribing to an unknown contract is an error.
      onContractPut: () => {
        if (!subscribed) api.subscribe(new F.SubscribeRequest(key()));
        subscribed = true;
        api.get(new F.GetRequest(key(), false));
      },
      onContractGet: (r) => {
        // A request answered proves the gateway accepted the token (a refused one closes at once).
        show('connected (authenticated)', 'ok');
        $('result').textContent = text(r.state);
        $('result').dataset.state = text(r.state);
      },
      onContractUpdate: () => api.get(new F.GetRequest(key(), false)),
      onContractUpdateNotification: () => {
        $('notifications').textContent = String(++notifications);
      },
      onDelegateResponse: () => {},
      onErr: (e) => show('error: ' + e.cause, 'bad'),
    },
    token,
  );
  // The library does not report a closed connection; its socket does (4401: token refused).
  const socket = api.ws;
  if (socket && socket.addEventListener) {
    socket.addEventListener('close', (ev) => {
      show(ev.code === 4401 ? 'refused: token unknown or expired (4401), reload the page' : 'disconnected (' + ev.code + ')', 'bad');
    });
  }
  function save(value) {
    const contract = new F.ContractContainer(
      F.ContractType.WasmContractV1,
      new F.WasmContractV1(new F.ContractCodeT(Array.from(CODE), []), [], key()),
    );
    api.put(new F.PutRequest(contract, bytes(value), new F.RelatedContractsT([])));
  }
  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    api.update(new F.UpdateRequest(key(), new F.UpdateData(F.UpdateDataType.StateUpdate, new F.StateUpdate(bytes($('state').value)))));
  });
})();
