// Security keys and passkeys for the mfa-kit web example: plain JavaScript, no
// library. Served by the example at /security-key.js.
//
// Every form marked data-security-key="register" or "authenticate" is driven from
// here. On submit, the script
//   1. asks the server for the ceremony's options (POST to the form's data-options,
//      with the session's CSRF token in the X-CSRF-Token header, and the form's name
//      field if it has one), JSON with base64url strings for the binary fields;
//   2. turns those strings into ArrayBuffers and calls navigator.credentials.create()
//      (register) or .get() (authenticate);
//   3. writes the credential, its binary fields base64url again (of its extension
//      results only credProps), as JSON into the form's hidden "response" field and
//      submits the form: the server answers with the next page, or this one again
//      with its refusal.
// A refusal of the options (JSON {"error", "code"}) is shown in the page; one that asks
// for a fresh proof sends the browser to the form's data-step-up page.
(function () {
  'use strict';

  function decode(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function encode(buffer) {
    if (!buffer) return null;
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: decode(c.id) }); });
  }

  function creationOptions(json) {
    const o = Object.assign({}, json.publicKey);
    o.challenge = decode(o.challenge);
    o.user = Object.assign({}, o.user, { id: decode(o.user.id) });
    o.excludeCredentials = withIds(o.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    const o = Object.assign({}, json.publicKey);
    o.challenge = decode(o.challenge);
    o.allowCredentials = withIds(o.allowCredentials);
    return o;
  }

  function registration(credential) {
    const results = credential.getClientExtensionResults ? credential.getClientExtensionResults() : {};
    const props = results && results.credProps;
    return {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: encode(credential.response.attestationObject),
        clientDataJSON: encode(credential.response.clientDataJSON),
      },
      // Only what the server reads: whether the browser made a discoverable
      // credential (a passkey).
      extensions: props ? { credProps: { rk: !!props.rk } } : {},
    };
  }

  function assertion(credential) {
    return {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: encode(credential.response.authenticatorData),
        clientDataJSON: encode(credential.response.clientDataJSON),
        signature: encode(credential.response.signature),
        userHandle: encode(credential.response.userHandle),
      },
      extensions: {},
    };
  }

  /** Shows `text` in the form's status line, as the page's other notices. */
  function say(form, text) {
    let line = form.querySelector('.key-status');
    if (!line) {
      line = document.createElement('p');
      line.className = 'key-status notice';
      line.setAttribute('role', 'alert');
      form.prepend(line);
    }
    line.textContent = text;
  }

  async function run(form) {
    const register = form.dataset.securityKey === 'register';
    const token = form.querySelector('input[name=csrf_token]').value;
    const fields = new URLSearchParams();
    const name = form.querySelector('input[name=name]');
    if (name) fields.set('name', name.value);
    const answer = await fetch(form.dataset.options, {
      method: 'POST',
      headers: { 'x-csrf-token': token, 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
      credentials: 'same-origin',
    });
    if (answer.redirected) {
      // The session moved on (signed out, or another stage): follow it.
      window.location.assign(answer.url);
      return;
    }
    let json = null;
    try { json = await answer.json(); } catch (_) { json = null; }
    if (!answer.ok || !json) {
      if (json && json.code === 'fresh_proof_required' && form.dataset.stepUp) {
        window.location.assign(form.dataset.stepUp);
        return;
      }
      say(form, json && json.error ? json.error : 'Security keys are unavailable right now. Try again shortly.');
      return;
    }
    say(form, register ? 'Touch your security key, or confirm with this device\u2026' : 'Touch your security key\u2026');
    let credential;
    try {
      credential = register
        ? await navigator.credentials.create({ publicKey: creationOptions(json) })
        : await navigator.credentials.get({ publicKey: requestOptions(json) });
    } catch (error) {
      say(form, error && error.name === 'InvalidStateError'
        ? 'That security key is already registered to your account.'
        : 'The security key did not answer, or the request was cancelled. Try again.');
      return;
    }
    if (!credential) {
      say(form, 'The security key did not answer. Try again.');
      return;
    }
    const response = register ? registration(credential) : assertion(credential);
    form.querySelector('input[name=response]').value = JSON.stringify(response);
    form.dataset.ready = '1';
    form.submit();
  }

  function attach(form) {
    form.addEventListener('submit', function (event) {
      if (form.dataset.ready === '1') return;
      event.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        say(form, 'This browser cannot use security keys or passkeys.');
        return;
      }
      const button = form.querySelector('button');
      if (button) button.disabled = true;
      run(form).catch(function () {
        say(form, 'Security keys are unavailable right now. Try again shortly.');
      }).finally(function () {
        if (button && form.dataset.ready !== '1') button.disabled = false;
      });
    });
  }

  document.querySelectorAll('form[data-security-key]').forEach(attach);
})();
