// A phone's photo is 2–6 MB: minutes at 400 kbps. So a photo picked on a form marked
// data-photo-form is drawn smaller here first (long side ≤ 1600 px, JPEG 0.82: what the
// server keeps anyway, app/services/evidence.py), and the upload shows how far it has got.
// Without this file the form sends the photo as it is; the server checks and shrinks it.
(function () {
  "use strict";
  var LONG_SIDE = 1600, QUALITY = 0.82, SMALL = 300 * 1024, HUGE = 40 * 1024 * 1024;
  var PATIENCE = 20000;  // ms: a photo not shrunk by then is sent as it is
  // Browsers since 2020 turn a photo upright (EXIF orientation) when they decode it; an
  // older one would lose a rotated photo's orientation, so it redraws only upright ones.
  var UPRIGHT = !!(window.CSS && CSS.supports && CSS.supports("image-orientation", "from-image"));

  function photoForm(element) {
    return element && element.matches && element.matches("form[data-photo-form]") ? element : null;
  }
  function photoInputs(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[type=file][accept^='image']"));
  }
  function chosen(input) { return input.shrunk || (input.files && input.files[0]) || null; }

  function readBytes(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = reject;
      reader.readAsArrayBuffer(blob);
    });
  }

  // The EXIF orientation of a JPEG (1: upright), 0 if it cannot be read.
  function orientation(bytes) {
    try {
      var view = new DataView(bytes), at = 2;
      if (view.getUint16(0) !== 0xFFD8) { return 0; }
      while (at + 10 < view.byteLength) {
        var marker = view.getUint16(at);
        if (marker === 0xFFE1 && view.getUint32(at + 4) === 0x45786966) {  // APP1 "Exif"
          var tiff = at + 10, little = view.getUint16(tiff) === 0x4949;
          var ifd = tiff + view.getUint32(tiff + 4, little), count = view.getUint16(ifd, little);
          for (var i = 0; i < count; i++) {
            if (view.getUint16(ifd + 2 + i * 12, little) === 0x0112) {
              return view.getUint16(ifd + 2 + i * 12 + 8, little);
            }
          }
          return 1;
        }
        if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) { return 1; }
        at += 2 + view.getUint16(at + 2);
      }
      return 1;
    } catch (error) {
      return 0;
    }
  }

  function redrawable(file) {
    if (file.size > HUGE) { return Promise.resolve(false); }
    if (UPRIGHT) { return Promise.resolve(true); }
    return readBytes(file.slice(0, 128 * 1024)).then(function (bytes) {
      var head = new Uint8Array(bytes, 0, 4);
      return orientation(bytes) === 1 || (head[0] === 0x89 && head[1] === 0x50);  // or PNG
    });
  }

  // Decoded upright: an ImageBitmap, or an <img> from a data: URL (the CSP allows no blob:).
  function decode(file) {
    function viaImage() {
      return new Promise(function (resolve, reject) {
        var reader = new FileReader(), image = new Image();
        image.onload = function () { resolve(image); };
        image.onerror = reject;
        reader.onload = function () { image.src = reader.result; };
        reader.onerror = reject;
        reader.readAsDataURL(file);
      });
    }
    if (!window.createImageBitmap) { return viaImage(); }
    return createImageBitmap(file, {imageOrientation: "from-image"}).catch(viaImage);
  }

  function jpegName(name) { return (name || "photo").replace(/\.[^.]*$/, "") + ".jpg"; }

  // The smaller File, or null to send the photo unchanged (small already, or undecodable).
  function shrink(file) {
    return Promise.race([redraw(file), new Promise(function (resolve) {
      setTimeout(resolve, PATIENCE, null);
    })]);
  }
  function redraw(file) {
    return redrawable(file).then(function (ok) { return ok ? decode(file) : null; })
      .then(function (picture) {
        if (!picture) { return null; }
        var width = picture.naturalWidth || picture.width, height = picture.naturalHeight || picture.height;
        var long = Math.max(width, height);
        if (!long || (long <= LONG_SIDE && file.size <= SMALL)) {
          if (picture.close) { picture.close(); }
          return null;
        }
        var scale = Math.min(1, LONG_SIDE / long), canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(width * scale));
        canvas.height = Math.max(1, Math.round(height * scale));
        var context = canvas.getContext("2d");
        context.fillStyle = "#fff";  // a transparent PNG on white, as the server does
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.imageSmoothingQuality = "high";
        context.drawImage(picture, 0, 0, canvas.width, canvas.height);
        if (picture.close) { picture.close(); }
        return new Promise(function (resolve) {
          canvas.toBlob(resolve, "image/jpeg", QUALITY);
        }).then(function (blob) {
          canvas.width = canvas.height = 0;
          if (!blob || blob.type !== "image/jpeg" || blob.size >= file.size) { return null; }
          return new File([blob], jpegName(file.name), {type: "image/jpeg"});
        });
      })
      .catch(function () { return null; });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!photoForm(input.form) || photoInputs(input.form).indexOf(input) < 0) { return; }
    var file = input.files && input.files[0];
    input.shrunk = null;
    var shrinking = input.shrinking = file ? shrink(file).then(function (small) {
      if (input.shrinking !== shrinking) { return; }  // another photo was picked meanwhile
      input.shrinking = null;
      input.shrunk = small;
      if (small) {
        try {  // what the input holds is what is sent, with or without htmx
          var swap = new DataTransfer();
          swap.items.add(small);
          input.files = swap.files;
        } catch (error) { /* htmx:configRequest below sends it all the same */ }
      }
    }) : null;
  });

  function waits(form) {
    return photoInputs(form).map(function (input) { return input.shrinking; }).filter(Boolean);
  }

  // --- what the member sees: the progress box (texts from the page, in its language)
  function box(form) { return form.querySelector("[data-upload-progress]"); }
  function say(form, state, percent) {
    var shown = box(form);
    if (!shown) { return; }
    var text = shown.getAttribute("data-" + state).replace("{percent}", (percent || 0) + "%");
    var bar = shown.querySelector("progress"), spoken = form.querySelector("[data-upload-said]");
    shown.hidden = false;
    form.classList.add("uploading");
    shown.querySelector("[data-upload-text]").textContent = text;
    bar.hidden = state === "preparing";
    bar.value = state === "saving" ? 100 : percent || 0;
    // Read out at 0, 25, 50, 75 % and when sent: not every step of the bar.
    var step = state === "uploading" ? Math.floor(percent / 25) * 25 : -1;
    if (spoken && spoken.getAttribute("data-step") !== state + step) {
      spoken.setAttribute("data-step", state + step);
      spoken.textContent = state === "uploading"
        ? shown.getAttribute("data-uploading").replace("{percent}", step + "%") : text;
    }
  }
  function hide(form) {
    var shown = box(form), spoken = form.querySelector("[data-upload-said]");
    form.classList.remove("uploading");
    if (shown) { shown.hidden = true; }
    if (spoken) { spoken.removeAttribute("data-step"); spoken.textContent = ""; }
  }
  // Offline before anything is sent: said where static/htmx-guard.js says a failed send.
  function failed(form) {
    hide(form);
    var where = form.querySelector("[data-send-error]");
    if (!where) { return; }
    var message = document.createElement("p");
    message.className = "flash flash-error";
    message.setAttribute("role", "alert");
    message.textContent = form.getAttribute("data-unsent");
    where.textContent = "";
    where.appendChild(message);
  }

  // Sent by htmx: wait for the photos still being shrunk, then send.
  document.addEventListener("htmx:confirm", function (event) {
    var form = photoForm(event.target);
    if (!form) { return; }
    if (navigator.onLine === false) {
      event.preventDefault();
      failed(form);
      return;
    }
    var pending = waits(form);
    if (!pending.length) { return; }
    event.preventDefault();
    if (form.shrinkWait) { return; }  // a second tap while waiting
    form.shrinkWait = true;
    say(form, "preparing");
    Promise.all(pending).then(function () {
      form.shrinkWait = false;
      event.detail.issueRequest(true);
    });
  });

  // Where the browser could not put the smaller photo into the input, it goes in here.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = photoForm(event.target), data = event.detail.formData;
    if (!form || !data || !data.delete) { return; }
    var inputs = photoInputs(form);
    inputs.forEach(function (input) { data.delete(input.name); });
    inputs.forEach(function (input) {
      var file = chosen(input);
      if (file) { data.append(input.name, file, file.name); }
    });
  });

  document.addEventListener("htmx:beforeSend", function (event) {
    var form = photoForm(event.target);
    if (!form || !photoInputs(form).some(chosen)) { return; }
    var upload = event.detail.xhr.upload;
    say(form, "uploading", 0);
    upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable && progress.total) {
        say(form, "uploading", Math.min(99, Math.floor(100 * progress.loaded / progress.total)));
      }
    });
    upload.addEventListener("load", function () { say(form, "saving"); });
  });

  // Stored: the box stays until the next page has loaded. Otherwise it goes; a send that
  // failed, or an answer not the app's, is said by static/htmx-guard.js.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = photoForm(event.target);
    if (form && !(event.detail.successful && event.detail.xhr.getResponseHeader("HX-Redirect"))) {
      hide(form);
    }
  });

  // Sent without htmx: still wait for the smaller photos.
  document.addEventListener("submit", function (event) {
    var form = photoForm(event.target);
    if (!form || event.defaultPrevented || !waits(form).length) { return; }
    event.preventDefault();
    Promise.all(waits(form)).then(function () { form.submit(); });
  });

  // Back to this page from the next one (the back/forward cache): no box left showing.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-photo-form]"), hide);
  });
}());
