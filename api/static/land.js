// The land officer's pages (api/routers/land_office.py): the look-up form and the
// parcel card. Requests go to the API with the page's own credentials, so every
// answer follows the caller's access policy; a section whose route refuses the
// caller (401, 403, 404) stays hidden.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("land-config").textContent);
  window.landState = {done: false, matches: null, mapReady: false, versions: null, dossiers: null};

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  async function getJson(url) {
    const response = await fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"});
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return {ok: response.ok, status: response.status, body};
  }

  // --- the look-up form ---------------------------------------------------------------
  function lookupPage() {
    const form = document.getElementById("lookup");
    const results = document.getElementById("results");
    const words = config.words;

    async function lookUp(params) {
      results.replaceChildren(el("p", words.searching, {class: "muted"}));
      const query = new URLSearchParams(params);
      const answer = await getJson(config.lookup_url + "?" + query.toString());
      results.replaceChildren();
      if (!answer.ok) {
        const detail = answer.body && (answer.body.detail || answer.body.title);
        results.append(el("p", words.failed + (detail ? ": " + detail : " (" + answer.status + ")"), {class: "problem"}));
        window.landState = {...window.landState, done: true, status: answer.status};
        return;
      }
      const matches = answer.body.matches || [];
      window.landState = {...window.landState, done: true, matches: matches.length, status: answer.status};
      if (matches.length === 1) {
        window.location.assign(config.card_url + encodeURIComponent(matches[0].id) + "?lang=" + config.lang);
        return;
      }
      if (matches.length === 0) {
        results.append(el("p", words.none));
        return;
      }
      results.append(el("p", words.several));
      const table = el("table", null, {id: "matches"});
      const head = el("tr");
      for (const h of [words.ward, words.commune, config.labels.sheet_no,
                       config.labels.parcel_no, words.land_use, words.address,
                       config.labels.national_parcel_id, ""]) head.append(el("th", h));
      table.append(head);
      for (const m of matches) {
        const tr = el("tr");
        const link = el("a", words.open, {href: config.card_url + encodeURIComponent(m.id) + "?lang=" + config.lang});
        const cells = [
          (m.ward_name || "") + " (" + m.ward_code + ")",
          m.survey_ward_code ? (m.survey_ward_name || "") + " (" + m.survey_ward_code + ")" : "",
          m.sheet_no, m.parcel_no, m.land_use || "", m.address || "", m.national_parcel_id || "",
        ];
        for (const c of cells) tr.append(el("td", c));
        const last = el("td"); last.append(link); tr.append(last);
        table.append(tr);
      }
      results.append(table);
    }

    function fields() {
      const data = new FormData(form);
      const params = {};
      for (const name of ["ward_code", "sheet_no", "parcel_no", "national_parcel_id"]) {
        const value = String(data.get(name) || "").trim();
        if (value) params[name] = value;
      }
      return params;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = fields();
      const shown = new URLSearchParams({lang: config.lang, ...params});
      history.replaceState(null, "", "?" + shown.toString());
      lookUp(params);
    });
    if (Object.keys(config.given).length) lookUp(config.given);
  }

  // --- the parcel card ---------------------------------------------------------------
  function bounds(geometry) {
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    const visit = (c) => {
      if (typeof c[0] === "number") {
        x1 = Math.min(x1, c[0]); y1 = Math.min(y1, c[1]);
        x2 = Math.max(x2, c[0]); y2 = Math.max(y2, c[1]);
      } else c.forEach(visit);
    };
    visit(geometry.coordinates);
    return [x1, y1, x2, y2];
  }

  function cardMap() {
    const feature = config.feature;
    if (!feature.geometry) { window.landState.mapReady = true; return; }
    const [x1, y1, x2, y2] = bounds(feature.geometry);
    const dx = Math.max(x2 - x1, 0.0002), dy = Math.max(y2 - y1, 0.0002);
    const vertices = {
      type: "FeatureCollection",
      features: config.points.map((p) => ({type: "Feature", properties: {no: p.no},
                                           geometry: {type: "Point", coordinates: [p.lon, p.lat]}})),
    };
    const map = new maplibregl.Map({
      container: "parcel-map",
      style: {version: 8, sources: {}, layers: [
        {id: "background", type: "background", paint: {"background-color": "#f4f1ea"}}]},
      bounds: [[x1, y1], [x2, y2]],
      fitBoundsOptions: {padding: 70, maxZoom: 21},
      maxZoom: 22,
      attributionControl: {customAttribution: "dothi"},
    });
    map.addControl(new maplibregl.NavigationControl({showCompass: false}));
    map.addControl(new maplibregl.ScaleControl({unit: "metric"}));
    window.landMap = map;
    map.on("load", async () => {
      // the neighbours: the parcels' own items in a box around the parcel, those
      // valid today (not the parents a split or merge retired, under its children)
      const box = [x1 - dx, y1 - dy, x2 + dx, y2 + dy].map((v) => v.toFixed(7)).join(",");
      const today = new Date().toLocaleDateString("sv-SE", {timeZone: "Asia/Ho_Chi_Minh"});
      const near = await getJson(config.urls.items + "?limit=500&bbox=" + box + "&datetime=" + today);
      const others = near.ok ? near.body.features.filter((f) => f.id !== feature.id) : [];
      map.addSource("neighbours", {type: "geojson", data: {type: "FeatureCollection", features: others}});
      map.addSource("parcel", {type: "geojson", data: feature});
      map.addSource("vertices", {type: "geojson", data: vertices});
      map.addLayer({id: "neighbours-fill", type: "fill", source: "neighbours",
                    paint: {"fill-color": "#e6dfcc", "fill-opacity": 0.9}});
      map.addLayer({id: "neighbours-line", type: "line", source: "neighbours",
                    paint: {"line-color": "#8c8577", "line-width": 1}});
      map.addLayer({id: "parcel-fill", type: "fill", source: "parcel",
                    paint: {"fill-color": "#f6b26b", "fill-opacity": 0.55}});
      map.addLayer({id: "parcel-line", type: "line", source: "parcel",
                    paint: {"line-color": "#b22222", "line-width": 2.5}});
      map.addLayer({id: "vertices", type: "circle", source: "vertices",
                    paint: {"circle-radius": 4, "circle-color": "#b22222",
                            "circle-stroke-color": "#fff", "circle-stroke-width": 1.5}});
      // numbers as DOM markers: the page ships no glyphs (no font server, no CDN)
      for (const p of config.points) {
        new maplibregl.Marker({element: el("div", p.no, {class: "vertex-label"}), anchor: "bottom-left", offset: [4, -4]})
          .setLngLat([p.lon, p.lat]).addTo(map);
      }
      for (const f of others.slice(0, 80)) {
        const [a, b, c, d] = bounds(f.geometry);
        new maplibregl.Marker({element: el("div", f.properties.parcel_no, {class: "neighbour-label"})})
          .setLngLat([(a + c) / 2, (b + d) / 2]).addTo(map);
      }
      window.landState.neighbours = others.length;
      map.once("idle", () => { window.landState.mapReady = true; });
    });
  }

  // an instant as the city's clock shows it ("2026-12-08 05:48:41"), dates as they are
  function shown(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) {
      const moment = new Date(value);
      if (!isNaN(moment)) return moment.toLocaleString("sv-SE", {timeZone: "Asia/Ho_Chi_Minh"});
    }
    return value;
  }

  function fillTable(section, rows) {
    const body = section.querySelector("tbody");
    for (const cells of rows) {
      const tr = el("tr");
      for (const c of cells) tr.append(el("td", shown(c)));
      body.append(tr);
    }
    section.hidden = false;
  }

  async function cardVersions() {
    const answer = await getJson(config.urls.versions);
    window.landState.versions = answer.status;
    if (!answer.ok || !answer.body || !Array.isArray(answer.body.versions)) return;
    const words = config.words || {};
    // updated_at changes with every write: it says nothing of what changed
    const changed = (v) => (Array.isArray(v.changed) ? v.changed : [])
      .filter((k) => k !== "updated_at")
      .map((k) => (k === "geometry" ? words.geometry : ((config.labels || {})[k] || [k])[0]))
      .join(", ");
    fillTable(document.getElementById("versions"), answer.body.versions.map((v) => [
      v.version, v.valid_from, v.valid_to ? v.valid_to : words.now,
      words[v.operation] || v.operation, v.by, changed(v),
    ]));
  }

  async function cardDossiers() {
    const answer = await getJson(config.urls.dossiers);
    window.landState.dossiers = answer.status;
    if (!answer.ok || !answer.body || !Array.isArray(answer.body.features)) return;
    const section = document.getElementById("dossiers");
    fillTable(section, answer.body.features.map((f) => {
      const p = f.properties || {};
      return [p.dossier_no, p.procedure, p.received_on, p.due_on, p.status, p.officer];
    }));
    if (!answer.body.features.length) {
      section.querySelector("table").hidden = true;
      section.querySelector(".empty").hidden = false;
    }
  }

  if (config.page === "lookup") lookupPage();
  if (config.page === "card") {
    cardMap();
    cardVersions();
    cardDossiers();
  }
})();
