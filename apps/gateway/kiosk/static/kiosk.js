// Kiosk page. It holds no key: it posts to /kiosk/<terminal>/reviews on the gateway, which signs the
// review with this kiosk's registered key and checks it like any terminal's.
// Repeat presses: one evaluation has one review id (made when a rating is tapped, reused on every
// retry), the submit button is disabled after the first tap, and the thank-you screen lasts at
// least the stream's repeat window before a new evaluation can start.
(function () {
  "use strict";
  var base = location.pathname.replace(/\/?$/, "/");
  var cfg = null, current = null, thanksTimer = null, idleTimer = null;
  var BAD = { 1: true, 2: true };
  var $ = function (id) { return document.getElementById(id); };

  function newId() {  // crypto.randomUUID needs a secure context; hall LANs are often plain http
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "k" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function localIso(d) {  // device time with its offset, e.g. 2021-05-06T09:30:00+08:00
    var off = -d.getTimezoneOffset(), sign = off >= 0 ? "+" : "-", a = Math.abs(off);
    var p = function (n) { return ("0" + n).slice(-2); };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" +
      p(d.getMinutes()) + ":" + p(d.getSeconds()) + sign + p(Math.floor(a / 60)) + ":" + p(a % 60);
  }
  function show(id) {
    ["start", "detail", "thanks"].forEach(function (s) { $(s).classList.toggle("active", s === id); });
    document.body.dataset.screen = id;
  }
  function el(tag, cls, text) { var e = document.createElement(tag); e.className = cls; e.textContent = text; return e; }

  function build() {
    $("where").textContent = cfg.hall_name + " · " + cfg.window_name;
    cfg.ratings.forEach(function (r) {
      var b = el("button", "rating", "");
      b.type = "button"; b.dataset.rating = r.rating;
      b.appendChild(el("span", "label", r.label));
      b.appendChild(el("span", "score", r.rating + " 分"));
      b.addEventListener("click", function () { choose(r); });
      $("ratings").appendChild(b);
    });
    cfg.reasons.forEach(function (t) {
      var b = el("button", "reason", t);
      b.type = "button"; b.setAttribute("aria-pressed", "false"); b.dataset.reason = t;
      b.addEventListener("click", function () {
        b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true"); touch();
      });
      $("reasons").appendChild(b);
    });
    ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "删除", "清空"].forEach(function (k) {
      var b = el("button", "key", k);
      b.type = "button"; b.dataset.key = k;
      b.addEventListener("click", function () { key(k); });
      $("keypad").appendChild(b);
    });
    $("back").addEventListener("click", reset);
    $("submit").addEventListener("click", submit);
  }

  function choose(r) {
    current = { review_id: newId(), rating: r.rating, happened_at: localIso(new Date()) };
    $("chosen").textContent = r.label;
    $("reasons-block").hidden = !BAD[r.rating];
    Array.prototype.forEach.call(document.querySelectorAll(".reason"), function (b) { b.setAttribute("aria-pressed", "false"); });
    $("phone").textContent = "";
    $("message").textContent = "";
    $("submit").disabled = false;
    show("detail");
    touch();
  }
  function key(k) {
    var p = $("phone").textContent;
    if (k === "删除") p = p.slice(0, -1); else if (k === "清空") p = ""; else if (p.length < 20) p += k;
    $("phone").textContent = p;
    $("message").textContent = "";
    touch();
  }
  function touch() {  // an abandoned evaluation returns to the start
    clearTimeout(idleTimer);
    idleTimer = setTimeout(reset, cfg.idle_seconds * 1000);
  }
  function reset() {
    clearTimeout(idleTimer); clearTimeout(thanksTimer);
    current = null;
    show("start");
  }

  var MESSAGES = {
    schema: "提交的内容不符合要求，请检查手机号等信息",
    rate_limited: "操作过于频繁，请稍后再试",
    unavailable: "系统繁忙，请稍后再试"
  };
  function submit() {
    if (!current || $("submit").disabled) return;
    var phone = $("phone").textContent;
    if (phone && !/^[0-9]{5,20}$/.test(phone)) { $("message").textContent = "手机号格式不正确"; return; }
    $("submit").disabled = true;
    current.phone = phone || null;
    current.reasons = BAD[current.rating] ?
      Array.prototype.map.call(document.querySelectorAll('.reason[aria-pressed="true"]'), function (b) { return b.dataset.reason; }) : [];
    post(current, 0);
  }
  function post(review, attempt) {
    fetch(base + "reviews", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(review) })
      .then(function (resp) { return resp.json().then(function (body) { return { status: resp.status, body: body }; }); })
      .then(function (r) {
        if (r.status === 202 || r.status === 200) return thanks();
        if ((r.status === 429 || r.status >= 500) && attempt < 3) return retry(review, attempt);
        $("message").textContent = MESSAGES[r.body.error] || ("提交失败：" + (r.body.detail || r.status));
        $("submit").disabled = false;
      })
      .catch(function () {
        if (attempt < 3) return retry(review, attempt);
        $("message").textContent = "网络异常，请稍后重试";
        $("submit").disabled = false;
      });
  }
  function retry(review, attempt) {  // same review id: the gateway takes it at most once
    $("message").textContent = "正在重试…";
    setTimeout(function () { post(review, attempt + 1); }, 1000 * Math.pow(2, attempt));
  }
  function thanks() {
    clearTimeout(idleTimer);
    current = null;
    var left = Math.ceil(cfg.thanks_seconds);
    $("countdown").textContent = left;
    show("thanks");
    var tick = function () {
      left -= 1;
      if (left <= 0) return reset();
      $("countdown").textContent = left;
      thanksTimer = setTimeout(tick, 1000);
    };
    thanksTimer = setTimeout(tick, 1000);
  }

  fetch(base + "config").then(function (r) { return r.json(); }).then(function (c) {
    cfg = c; build(); show("start"); document.body.dataset.ready = "1";
  }).catch(function () { $("where").textContent = "终端未就绪，请联系工作人员"; });
})();
