// 签到登记: 全选 / 全不选 tick the list in place, keeping what else was marked (without this
// file they are links that open the list again, all ticked or none); a 请假 mark clears the
// tick beside it and a tick clears the 请假 mark. The server needs none of it: a 请假 mark
// wins over a tick there too.
(function () {
  var list = document.querySelector(".rg-list");
  if (!list) { return; }
  function rowOf(box) { return box.closest(".rg-row"); }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-tick]");
    if (!link) { return; }
    event.preventDefault();
    var on = link.getAttribute("data-tick") === "all";
    list.querySelectorAll("input[name=present]").forEach(function (box) {
      var excused = rowOf(box).querySelector("input[name=excused]");
      box.checked = on && !(excused && excused.checked);
    });
  });
  list.addEventListener("change", function (event) {
    var box = event.target, row = rowOf(box);
    if (!row || !box.checked) { return; }
    var other = row.querySelector(box.name === "excused" ? "input[name=present]"
                                                         : "input[name=excused]");
    if (other) { other.checked = false; }
  });
}());
