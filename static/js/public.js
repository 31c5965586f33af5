/* The applicant's form: identity check digits as one types (GB 11643 居民身份证号码, GB 32100
   统一社会信用代码), the identity field that fits the applicant kind, more item boxes, attachment
   size, and no double submit. The server checks everything again (cases/services/applicants.py). */
(function () {
  "use strict";

  // The same rule and the same messages as the server (webapp/domain/identity.py): the district
  // code is never refused (numbers keep the district of issue, even one created or abolished since),
  // only the first two digits must be a province-level code (81/82/83: 港澳台居民居住证).
  // GB 11643-1999: weights 2^(17-i) mod 11; check = "10X98765432"[sum mod 11]
  var RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var RIC_CHECK = "10X98765432";
  var PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                   50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83];

  function ricProblem(v, today) {
    if (!/^\d{17}[\dX]$/.test(v)) { return "居民身份证号码应为18位：17位数字加1位校验码（数字或X）"; }
    if (PROVINCES.indexOf(+v.substr(0, 2)) < 0) { return "居民身份证号码前两位不是省级行政区划代码"; }
    var y = +v.substr(6, 4), m = +v.substr(10, 2), d = +v.substr(12, 2);
    var date = new Date(0);
    date.setUTCFullYear(y, m - 1, d);   // not Date.UTC: it reads the years 0-99 as 1900-1999
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
      return "居民身份证号码中的出生日期无效";
    }
    if (y < 1900) { return "居民身份证号码中的出生日期早于1900年"; }
    var now = today || new Date();
    if (date.getTime() > Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())) {
      return "居民身份证号码中的出生日期晚于今天";
    }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += (+v.charAt(i)) * RIC_WEIGHTS[i]; }
    if (RIC_CHECK.charAt(sum % 11) !== v.charAt(17)) { return "居民身份证号码校验位不正确，请核对号码"; }
    return "";
  }

  // GB 32100-2015: 18 characters from the alphabet below (no I O Z S V); weights 3^i mod 31;
  // check = (31 - sum mod 31) mod 31. Format and check character only, no table.
  var USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  function usccProblem(v) {
    // registration office and kind (2), area code (6 digits), organisation code (9), check (1)
    if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(v)) {
      return "统一社会信用代码应为18位：前2位为数字或大写字母，第3至8位为数字，其余为数字或大写字母（不含I、O、Z、S、V）";
    }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += USCC_ALPHABET.indexOf(v.charAt(i)) * USCC_WEIGHTS[i]; }
    var check = (31 - (sum % 31)) % 31;
    if (USCC_ALPHABET.charAt(check) !== v.charAt(17)) { return "统一社会信用代码校验位不正确，请核对代码"; }
    return "";
  }

  window.GovCheck = { ricProblem: ricProblem, usccProblem: usccProblem };

  function liveCheck(input) {
    var out = document.getElementById(input.id + "-live");
    var kind = input.getAttribute("data-check");
    // the server's message for this field (after a refused post) says the same as the live check
    // would: show one of them, the server's until the number is changed
    var served = input.parentNode.querySelectorAll(".field-error");
    function run(e) {
      var v = input.value.replace(/\s+/g, "").toUpperCase();
      if (v !== input.value) { input.value = v; }
      if (!out) { return; }
      if (served.length) {
        if (!e || e.type !== "input") { return; }
        Array.prototype.forEach.call(served, function (p) { p.parentNode.removeChild(p); });
        served = [];
      }
      if (!v) { out.textContent = ""; out.className = "live-check"; input.removeAttribute("aria-invalid"); return; }
      var problem = kind === "ric" ? ricProblem(v) : usccProblem(v);
      if (!problem) {
        out.textContent = "✓ 号码格式和校验位正确";
        out.className = "live-check ok";
        input.removeAttribute("aria-invalid");
      } else if (v.length < 18 && !/[^0-9A-Z]/.test(v)) {
        out.textContent = "已输入 " + v.length + " 位，共18位";
        out.className = "live-check";
        input.removeAttribute("aria-invalid");
      } else {
        out.textContent = problem;
        out.className = "live-check bad";
        input.setAttribute("aria-invalid", "true");
      }
    }
    input.addEventListener("input", run);
    input.addEventListener("blur", run);
    run();
  }

  function kindSwitch() {
    var kind = document.getElementById("kind");
    if (!kind) { return; }
    function apply() {
      var person = kind.value === "natural_person";
      var p = document.getElementById("field-id_number"), o = document.getElementById("field-uscc");
      if (p) { p.classList.toggle("js-hidden", !person); }
      if (o) { o.classList.toggle("js-hidden", person); }
    }
    kind.addEventListener("change", apply);
    apply();
  }

  function moreItems() {
    var button = document.getElementById("add-item"), box = document.getElementById("items");
    if (!button || !box) { return; }
    button.addEventListener("click", function (e) {
      var items = box.querySelectorAll(".item");
      if (!items.length || items.length >= 50) { return; }
      e.preventDefault();
      var copy = items[items.length - 1].cloneNode(true);
      var n = items.length + 1;
      var ta = copy.querySelector("textarea"), label = copy.querySelector("label"), no = copy.querySelector(".item-no");
      var req = copy.querySelector(".req");
      if (req) { req.parentNode.removeChild(req); }
      ta.value = "";
      ta.id = "item-" + n;
      label.setAttribute("for", ta.id);
      if (no) { no.textContent = String(n); }
      box.appendChild(copy);
      ta.focus();
    });
  }

  function fileSizes() {
    var input = document.getElementById("attachments");
    if (!input) { return; }
    var max = +input.getAttribute("data-max-bytes") || 0;
    var out = document.getElementById("attachments-live");
    input.addEventListener("change", function () {
      var big = [];
      for (var i = 0; i < input.files.length; i++) {
        if (max && input.files[i].size > max) { big.push(input.files[i].name); }
      }
      if (out) {
        out.textContent = big.length ? ("文件过大（每个不超过" + Math.round(max / 1048576) + "MB）：" + big.join("、")) : "";
        out.className = big.length ? "live-check bad" : "live-check";
      }
    });
  }

  function submitOnce() {
    var forms = document.querySelectorAll("form");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (e) {
        var b = e.submitter;
        if (!b || !b.hasAttribute("data-once")) { return; }
        if (form.getAttribute("data-sent")) { e.preventDefault(); return; }
        form.setAttribute("data-sent", "1");
        // keep the button's name/value in the post, then disable it for the wait
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = b.name; hidden.value = b.value;
        form.appendChild(hidden);
        window.setTimeout(function () { b.disabled = true; b.textContent = "正在提交…"; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-check]"), liveCheck);
    kindSwitch();
    moreItems();
    fileSizes();
    submitOnce();
  });
}());
