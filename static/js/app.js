/* Progressive enhancements for the clerks' pages. Every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Forms that end a case ask for confirmation first.
  $all("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  // --- intake: receipt date proposed from the channel (rules.md §2) ------------------------------

  var intake = $("#intake-form");
  if (intake) {
    var channel = $("#channel", intake), postKind = $("#post_kind", intake);
    var arrived = $("#arrived_on", intake), received = $("#received_on", intake);
    var kind = $("#kind", intake);
    var ruleBox = $("#receipt-rule-current");
    var receivedTouched = false;

    received.addEventListener("input", function () { receivedTouched = true; });

    function currentRule() {
      var ch = channel.value, pk = ch === "post" ? postKind.value : "";
      var items = $all("#receipt-rule li");
      var match = null;
      items.forEach(function (li) {
        var hit = li.getAttribute("data-channel") === ch && li.getAttribute("data-post") === pk;
        li.classList.toggle("current", hit);
        if (hit) { match = li; }
      });
      if (match && ruleBox) { ruleBox.textContent = match.textContent; }
    }

    function proposeReceipt() {
      // in person: the hand-in day; signed post: the signing day; other channels: the day of
      // confirmation, normally the arrival day. The clerk confirms or corrects it.
      if (!receivedTouched && arrived.value) { received.value = arrived.value; }
      var p = $("#receipt-proposal");
      if (p && arrived.value) { p.textContent = arrived.value; }
    }

    function showPostKind() {
      var f = postKind.closest(".field");
      if (f) { f.classList.toggle("hidden", channel.value !== "post"); }
    }

    function showIdentityFields() {
      var person = kind.value === "natural_person";
      $all(".for-person", intake).forEach(function (el) { el.classList.toggle("hidden", !person); });
      $all(".for-org", intake).forEach(function (el) { el.classList.toggle("hidden", person); });
    }

    channel.addEventListener("change", function () { showPostKind(); currentRule(); proposeReceipt(); });
    postKind.addEventListener("change", currentRule);
    arrived.addEventListener("change", proposeReceipt);
    kind.addEventListener("change", showIdentityFields);
    showPostKind(); currentRule(); showIdentityFields();
  }

  // --- intake: applicant look-up (JSON), fills the hidden applicant_id ---------------------------

  var searchForm = $("form[data-applicant-search]");
  if (searchForm && intake) {
    var url = searchForm.getAttribute("data-applicant-search");
    var input = $("input[name=q]", searchForm);
    var box = $("#applicant-results");
    var timer = null;

    function cell(tr, text, cls) {
      var td = document.createElement("td");
      td.textContent = text;
      if (cls) { td.className = cls; }
      tr.appendChild(td);
      return td;
    }

    function choose(r) {
      $("#applicant_id", intake).value = String(r.id);
      $("#kind", intake).value = r.kind;
      $("#kind", intake).dispatchEvent(new Event("change"));
      $("#name", intake).value = r.name;
      var sel = $("#selected-applicant");
      sel.textContent = "已选用已有申请人：" + r.name + "（" + r.kind_label + "，" + r.identity + "，此前申请" + r.cases +
        "次）。证件号码等留空的项目沿用已登记的信息；填写的项目将更新登记信息。";
      sel.classList.remove("hidden");
      box.textContent = "";
    }

    function render(results) {
      box.textContent = "";
      if (!results.length) {
        var p = document.createElement("p");
        p.className = "muted";
        p.textContent = "没有找到，请在下方登记新的申请人。";
        box.appendChild(p);
        return;
      }
      var table = document.createElement("table");
      table.className = "grid";
      var head = document.createElement("tr");
      ["姓名/名称", "类型", "证件号码", "电话", "申请次数", ""].forEach(function (h) {
        var th = document.createElement("th"); th.textContent = h; head.appendChild(th);
      });
      var thead = document.createElement("thead"); thead.appendChild(head); table.appendChild(thead);
      var tbody = document.createElement("tbody");
      results.forEach(function (r) {
        var tr = document.createElement("tr");
        cell(tr, r.name); cell(tr, r.kind_label); cell(tr, r.identity, "mono"); cell(tr, r.phone, "mono");
        cell(tr, String(r.cases), "num");
        var td = cell(tr, "");
        var b = document.createElement("button");
        b.type = "button"; b.className = "btn btn-small"; b.textContent = "选用";
        b.addEventListener("click", function () { choose(r); });
        td.appendChild(b);
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      box.appendChild(table);
    }

    function lookup() {
      var q = input.value.trim();
      if (!q) { box.textContent = ""; return; }
      fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { render(data.results || []); })
        .catch(function () { /* the plain GET form still works */ });
    }

    searchForm.addEventListener("submit", function (e) { e.preventDefault(); lookup(); });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 300);
    });
  }

  // --- case page: live fee preview --------------------------------------------------------------

  var preview = $(".fee-preview");
  if (preview) {
    var form = preview.closest("form");
    var method = $("select[name$='-method']", form), qty = $("input[name$='-quantity']", form);
    function update() {
      var q = parseInt(qty.value, 10);
      if (!q || q < 1) { return; }
      fetch(preview.getAttribute("data-url") + "?method=" + encodeURIComponent(method.value) + "&quantity=" + q,
        { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) { return; }
          $(".fee-amount", preview).textContent = d.amount;
          $(".fee-basis", preview).textContent = d.basis;
        })
        .catch(function () {});
    }
    method.addEventListener("change", update);
    qty.addEventListener("input", update);
  }
})();
