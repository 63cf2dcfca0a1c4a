// Kiosk page. It holds no key: it posts to /kiosk/<terminal>/reviews on the gateway, which signs the
// review with this kiosk's registered key and checks it like any terminal's. Only the browser paired
// with the terminal may post: on first use staff type the admin's one-time pairing code, and the
// gateway answers with an HttpOnly cookie this script never sees.
// A citizen sees Chinese only: every refusal code has its sentence, nothing of a server's text.
// The phone number is masked on screen as it is typed (139****5678): bystanders read no number.
// Repeat presses: one evaluation has one review id (made when a rating is tapped, reused on every
// retry), the submit button is disabled after the first tap, and the thank-you screen lasts at
// least the stream's repeat window before a new evaluation can start.
(function () {
  "use strict";
  var base = location.pathname.replace(/\/?$/, "/");
  var cfg = null, current = null, thanksTimer = null, idleTimer = null, built = false;
  var phone = "", code = "";
  var BAD = { 1: true, 2: true };
  var SUSPENDED = "本终端暂停使用，请联系工作人员";
  var MESSAGES = {
    schema: "提交的内容不符合要求，请检查手机号等信息",
    unknown_reason: "请从列出的原因中选择",
    reason_required: "请至少选择一项不满意的原因",
    rate_limited: "操作过于频繁，请稍后再试",
    unavailable: "系统繁忙，请稍后再试",
    pairing_failed: "配对码无效或已过期，请联系管理员重新获取",
    body_too_large: "提交的内容过长"
  };
  var $ = function (id) { return document.getElementById(id); };

  function newId() {  // crypto.randomUUID needs a secure context; hall LANs are often plain http
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "k" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function show(id) {
    ["notice", "pairing", "start", "detail", "thanks"].forEach(function (s) { $(s).classList.toggle("active", s === id); });
    document.body.dataset.screen = id;
  }
  function notice(title, text) {
    clearTimeout(idleTimer); clearTimeout(thanksTimer);
    $("notice-title").textContent = title;
    $("notice-text").textContent = text || "\u00a0";
    show("notice");
  }
  function el(tag, cls, text) { var e = document.createElement(tag); e.className = cls; e.textContent = text; return e; }
  function keypad(target, onKey) {
    ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "删除", "清空"].forEach(function (k) {
      var b = el("button", "key", k);
      b.type = "button"; b.dataset.key = k;
      b.addEventListener("click", function () { onKey(k); });
      target.appendChild(b);
    });
  }
  function edit(value, k, max) {
    if (k === "删除") return value.slice(0, -1);
    if (k === "清空") return "";
    return value.length < max ? value + k : value;
  }
  // 139****5678: the 4th to 7th digits never appear, from the moment they are typed.
  function masked(p) { return p.slice(0, 3) + p.slice(3, 7).replace(/./g, "*") + p.slice(7); }

  // Any answer as {status, body}; a body that is not JSON (a proxy's error page) is an empty one.
  function call(path, options) {
    return fetch(base + path, options).then(function (resp) {
      return resp.text().then(function (text) {
        var body = {};
        try { body = JSON.parse(text) || {}; } catch (e) { body = {}; }
        return { status: resp.status, body: body };
      });
    });
  }
  function refusal(r) {  // the page's own reaction to a refusal that concerns the kiosk, not the review
    var err = r.body && r.body.error;
    if (err === "kiosk_unpaired") { pairing(); return true; }
    if (err === "not_kiosk" || err === "terminal_revoked" || err === "kiosk_forbidden") { notice(SUSPENDED); return true; }
    return false;
  }

  // --- start-up and pairing ----------------------------------------------------------------------
  function load() {
    call("config").then(function (r) {
      if (r.status === 200 && r.body.ratings) { cfg = r.body; build(); reset(); document.body.dataset.ready = "1"; return; }
      if (refusal(r)) return;
      notice("终端未就绪", "请联系工作人员");
      setTimeout(load, 10000);
    }).catch(function () {
      notice("网络异常", "正在重新连接…");
      setTimeout(load, 10000);
    });
  }
  function pairing() {
    code = ""; $("code").textContent = ""; $("pair-message").textContent = ""; $("pair").disabled = false;
    show("pairing");
  }
  function pair() {
    if (code.length !== 8) { $("pair-message").textContent = "请输入 8 位配对码"; return; }
    $("pair").disabled = true;
    call("pair", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code: code }) })
      .then(function (r) {
        if (r.status === 200) return load();
        if (r.body.error !== "pairing_failed" && refusal(r)) return;
        $("pair-message").textContent = MESSAGES[r.body.error] || "启用失败，请联系管理员";
        code = ""; $("code").textContent = ""; $("pair").disabled = false;
      })
      .catch(function () { $("pair-message").textContent = "网络异常，请稍后重试"; $("pair").disabled = false; });
  }

  // --- an evaluation -----------------------------------------------------------------------------
  function build() {
    if (built) return;
    built = true;
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
      var b = el("button", "reason", "");
      var tick = el("span", "tick", "✓");
      tick.setAttribute("aria-hidden", "true");
      b.appendChild(tick);
      b.appendChild(document.createTextNode(t));
      b.type = "button"; b.setAttribute("aria-pressed", "false"); b.dataset.reason = t;
      b.addEventListener("click", function () {
        b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
        $("message").textContent = "";
        touch();
      });
      $("reasons").appendChild(b);
    });
    keypad($("keypad"), function (k) {
      phone = edit(phone, k, 20);
      $("phone").textContent = masked(phone);
      $("message").textContent = "";
      touch();
    });
    $("back").addEventListener("click", reset);
    $("submit").addEventListener("click", submit);
  }

  function choose(r) {
    current = { review_id: newId(), rating: r.rating };
    $("chosen").textContent = r.label;
    $("reasons-block").hidden = !BAD[r.rating];
    Array.prototype.forEach.call(document.querySelectorAll(".reason"), function (b) { b.setAttribute("aria-pressed", "false"); });
    phone = "";
    $("phone").textContent = "";
    $("message").textContent = "";
    $("submit").disabled = false;
    show("detail");
    touch();
  }
  function touch() {  // an abandoned evaluation returns to the start
    clearTimeout(idleTimer);
    idleTimer = setTimeout(reset, cfg.idle_seconds * 1000);
  }
  function reset() {
    clearTimeout(idleTimer); clearTimeout(thanksTimer);
    current = null; phone = "";
    $("phone").textContent = "";
    show("start");
  }

  function submit() {
    if (!current || $("submit").disabled) return;
    if (phone && !/^[0-9]{5,20}$/.test(phone)) { $("message").textContent = "手机号格式不正确"; return; }
    var reasons = BAD[current.rating] ?
      Array.prototype.map.call(document.querySelectorAll('.reason[aria-pressed="true"]'), function (b) { return b.dataset.reason; }) : [];
    if (BAD[current.rating] && !reasons.length) { $("message").textContent = MESSAGES.reason_required; return; }
    $("submit").disabled = true;
    current.phone = phone || null;
    current.reasons = reasons;
    post(current, 0);
  }
  function post(review, attempt) {
    call("reviews", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(review) })
      .then(function (r) {
        if (r.status === 202 || r.status === 200) return thanks();
        if (refusal(r)) return;
        if ((r.status === 429 || r.status >= 500) && attempt < 3) return retry(review, attempt);
        $("message").textContent = MESSAGES[r.body.error] || "提交失败，请稍后重试或联系工作人员";
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
    current = null; phone = "";
    $("phone").textContent = "";
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

  keypad($("code-keypad"), function (k) {
    code = edit(code, k, 8);
    $("code").textContent = code.replace(/^(\d{4})(\d)/, "$1 $2");
    $("pair-message").textContent = "";
  });
  $("pair").addEventListener("click", pair);
  load();
})();
