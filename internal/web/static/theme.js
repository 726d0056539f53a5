// Applies the saved theme before the first paint (a classic, blocking
// script, so the page never flashes the wrong colours). "light" or "dark"
// forces a theme; anything else follows the system setting.
(function () {
  try {
    var t = localStorage.getItem('parley.theme');
    if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
  } catch (e) { /* storage may be disabled; the system theme applies */ }
})();
