// Passkeys on the Profile page: once django-otp-webauthn's script has registered one,
// load the page again so the new passkey is listed (and can be named). No inline script.
(function () {
  "use strict";
  document.addEventListener("otp_webauthn.register_complete", function () {
    window.location.reload();
  });
})();
