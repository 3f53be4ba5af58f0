// The hall screen: redraws from the server's events, chimes and speaks each new call, and says
// so plainly when the connection is lost instead of showing old numbers as if they were live.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-events");
  var status = document.getElementById("status");
  var callsList = document.getElementById("calls");
  var waitingList = document.getElementById("waiting");
  var soundButton = document.getElementById("enable-sound");
  var seen = [];
  var lastMessage = Date.now();
  var source = null;
  var audio = null;
  var SILENCE_MS = 35000;

  function key(call) { return call.label + "@" + call.at_ms; }

  function remember(calls) {
    for (var i = 0; i < calls.length; i++) {
      var k = key(calls[i]);
      if (seen.indexOf(k) < 0) seen.push(k);
    }
    if (seen.length > 60) seen = seen.slice(seen.length - 60);
  }

  function setState(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text;
    body.classList.toggle("stale", state !== "live");
  }

  function item(cls, text) {
    var span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    return span;
  }

  function draw(screen) {
    var calls = document.createDocumentFragment();
    if (!screen.calls.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "暂无叫号";
      calls.appendChild(empty);
    }
    screen.calls.forEach(function (c, i) {
      var li = document.createElement("li");
      if (i === 0) li.className = "latest";
      li.appendChild(item("label", c.label));
      li.appendChild(item("arrow", "→")).setAttribute("aria-hidden", "true");
      li.appendChild(item("window", c.window));
      li.appendChild(item("at", c.at));
      calls.appendChild(li);
    });
    callsList.replaceChildren(calls);
    var waiting = document.createDocumentFragment();
    screen.waiting.forEach(function (q) {
      var li = document.createElement("li");
      li.appendChild(item("name", q.name + "（" + q.prefix + "）"));
      li.appendChild(item("count", String(q.waiting)));
      waiting.appendChild(li);
    });
    waitingList.replaceChildren(waiting);
  }

  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 660].forEach(function (f, i) {
        var o = audio.createOscillator();
        var g = audio.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.2, audio.currentTime + i * 0.35);
        g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.35 + 0.3);
        o.connect(g).connect(audio.destination);
        o.start(audio.currentTime + i * 0.35);
        o.stop(audio.currentTime + i * 0.35 + 0.3);
      });
    } catch (e) { /* no sound device: the screen still shows the call */ }
  }

  function speak(text) {
    if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) return;
    var u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.rate = 0.9;
    window.speechSynthesis.speak(u);
  }

  function announce(screen) {
    var fresh = screen.calls.filter(function (c) { return seen.indexOf(key(c)) < 0; });
    // Oldest first, at most three: a burst after a reconnect is not read out whole.
    fresh.reverse().slice(-3).forEach(function (c) {
      chime();
      speak(c.announcement);
    });
    remember(screen.calls);
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(url);
    source.addEventListener("open", function () { lastMessage = Date.now(); });
    source.addEventListener("screen", function (e) {
      lastMessage = Date.now();
      var screen = JSON.parse(e.data);
      draw(screen);
      announce(screen);
      setState("live", "实时");
    });
    source.addEventListener("ping", function () {
      lastMessage = Date.now();
      setState("live", "实时");
    });
    source.addEventListener("error", function () {
      setState("lost", "连接中断，正在重新连接…");
    });
  }

  // A silent connection is a lost one: start again.
  setInterval(function () {
    if (Date.now() - lastMessage > SILENCE_MS) {
      setState("lost", "连接中断，正在重新连接…");
      lastMessage = Date.now();
      connect();
    }
  }, 5000);

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      chime();
      speak("叫号语音已开启");
      soundButton.parentElement.hidden = true;
    });
  }

  var initial = document.getElementById("initial");
  try { remember(JSON.parse(initial.textContent).calls || []); } catch (e) { /* drawn by the server */ }
  connect();
})();
