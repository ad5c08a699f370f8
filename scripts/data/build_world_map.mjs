// Build the frontend's world map: one SVG path `d` string of the land masses.
//
// What: reads Natural Earth 110m land (public domain) as TopoJSON from the npm
// package `world-atlas` (land-110m.json), decodes it with `topojson-client`,
// and prints a path in an equirectangular projection with x = longitude + 180
// and y = 90 - latitude (viewBox "0 0 360 180"), coordinates rounded to
// 1 decimal. world-atlas keeps rings whole across the antimeridian (it is made
// for spherical projections), so each ring is cut where a step jumps more
// than 180 degrees of longitude: the piece ends on one map edge at the
// interpolated latitude and the next starts on the other. Pieces then close
// along the map edge, and a ring around a pole (Antarctica) closes along the
// map's bottom or top, so nothing is drawn across the map and fills stay right.
// Why: the frontend draws the ISS and the place on an inline SVG map with no
// external tiles; the path is committed as services/frontend/assets/world-land.svgpath.
//
// Run (from the repo root; the packages are resolved from the current
// directory's node_modules, so they need not be installed in the repo):
//   tmp=$(mktemp -d) && (cd "$tmp" && npm install --no-save world-atlas@2.0.2 topojson-client@3.1.0)
//   (cd "$tmp" && node "$OLDPWD/scripts/data/build_world_map.mjs" node_modules/world-atlas/land-110m.json) \
//     > services/frontend/assets/world-land.svgpath
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// Resolve from the working directory (the temp install), not from this file's folder.
const require = createRequire(join(process.cwd(), "noop.js"));
const topojson = require("topojson-client");

const input = process.argv[2];
if (!input) {
  process.stderr.write("usage: node build_world_map.mjs <path-to-land-110m.json> > world-land.svgpath\n");
  process.exit(2);
}

const topology = JSON.parse(readFileSync(input, "utf8"));
const land = topojson.feature(topology, topology.objects.land);

// Rounded to 1 decimal (about 11 km): plenty for a map a few hundred pixels wide.
const fmt = (v) => {
  const s = (Math.round(v * 10) / 10).toFixed(1);
  return s.endsWith(".0") ? s.slice(0, -2) : s;
};

function ringsOf(geometry) {
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  if (geometry.type === "GeometryCollection") return geometry.geometries.flatMap(ringsOf);
  throw new Error(`unexpected geometry type ${geometry.type}`);
}

const pt = ([lon, lat]) => `${fmt(lon + 180)} ${fmt(90 - lat)}`;

// Splits a closed ring at antimeridian crossings into closed subpaths
// (arrays of [lon, lat]).
function cutRing(ring) {
  const pieces = [[]];
  let crossings = 0;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i];
    pieces[pieces.length - 1].push(p);
    const q = ring[i + 1];
    if (!q || Math.abs(q[0] - p[0]) <= 180) continue;
    crossings += 1;
    // The edge p's side reaches, and q's longitude unwrapped onto p's side.
    const edge = q[0] > p[0] ? -180 : 180;
    const qLon = q[0] - 2 * edge;
    const t = qLon === p[0] ? 0 : (edge - p[0]) / (qLon - p[0]);
    const lat = p[1] + t * (q[1] - p[1]);
    pieces[pieces.length - 1].push([edge, lat]);
    pieces.push([[-edge, lat]]);
  }
  if (crossings === 0) return pieces;
  // The ring is closed (last point == first), so the last piece continues the first.
  const last = pieces.pop();
  pieces[0] = last.concat(pieces[0].slice(1));
  if (crossings % 2 === 1) {
    // Once around a pole: close along the map's top or bottom edge.
    const piece = pieces[0];
    const meanLat = piece.reduce((sum, [, lat]) => sum + lat, 0) / piece.length;
    const pole = meanLat < 0 ? -90 : 90;
    piece.push([piece[piece.length - 1][0], pole], [piece[0][0], pole]);
  }
  return pieces;
}

const geometries = land.type === "FeatureCollection" ? land.features.map((f) => f.geometry) : [land.geometry];
const subpaths = [];
for (const ring of geometries.flatMap(ringsOf)) {
  for (const piece of cutRing(ring)) {
    const pts = [];
    for (const p of piece) {
      const s = pt(p);
      // Points that round to the same spot add bytes and nothing else.
      if (pts[pts.length - 1] !== s) pts.push(s);
    }
    if (pts.length > 1 && pts[pts.length - 1] === pts[0]) pts.pop();
    if (pts.length >= 3) subpaths.push(`M${pts[0]}L${pts.slice(1).join(" ")}Z`);
  }
}
process.stdout.write(subpaths.join(""));
