/*
 * Extra webpack configuration merged by @jupyterlab/builder into the labextension build
 * (package.json "jupyterlab.webpackConfig").
 *
 * Why it exists: the production build writes third-party-licenses.json with the license
 * text of every bundled package, found by license-webpack-plugin as a LICENSE* file in the
 * package's folder. Two of our bundled packages publish none to npm:
 *   - nbdime (BSD-3-Clause): its npm package's "files" list leaves out the LICENSE.md that
 *     the jupyter/nbdime repository (and its Python distribution) carry;
 *   - jsonify (via nbdime -> json-stable-stringify): "Public Domain", no text at all.
 * The builder creates its license plugin itself and takes no options for it, so this
 * plugin completes the report after the builder's plugin has written it, and withdraws the
 * "could not find any license file" warning only for a package whose text it supplied.
 * Any other package without a license still warns.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');

const REPORT = 'third-party-licenses.json';

/** Where nbdime's license text lives: the Python nbdime distribution installed beside
 * JupyterLab (the build already runs that Python to find JupyterLab's staging folder). */
function nbdimeLicenseText() {
  const python = process.env.PYTHON || 'python3';
  const script =
    'import importlib.metadata as m\n' +
    "files = m.distribution('nbdime').files or []\n" +
    "print(next(str(f.locate()) for f in files if f.name.upper().startswith('LICENSE')))";
  try {
    const path = execFileSync(python, ['-c', script], { encoding: 'utf8' }).trim();
    return fs.readFileSync(path, 'utf8').replace(/\r\n/g, '\n');
  } catch {
    return null; // not installed here: the builder's warning stays, and is true
  }
}

/** Package name -> a function giving its license text (null when it cannot be had). */
const LICENSE_TEXTS = {
  nbdime: nbdimeLicenseText,
  jsonify: () =>
    'jsonify is dedicated to the public domain by its authors: its package.json declares ' +
    '"license": "Public Domain" and the package carries no license file.'
};

class CompleteLicenseReport {
  apply(compiler) {
    const { Compilation, sources } = compiler.webpack;
    compiler.hooks.thisCompilation.tap('CompleteLicenseReport', compilation => {
      compilation.hooks.processAssets.tap(
        // The builder's license plugin writes the report at REPORT + 1.
        { name: 'CompleteLicenseReport', stage: Compilation.PROCESS_ASSETS_STAGE_REPORT + 2 },
        () => {
          const asset = compilation.getAsset(REPORT);
          if (!asset) {
            return; // development builds write no report
          }
          const report = JSON.parse(asset.source.source().toString());
          const supplied = new Set();
          for (const pkg of report.packages) {
            const text = !pkg.extractedText && LICENSE_TEXTS[pkg.name]?.();
            if (text) {
              pkg.extractedText = text;
              supplied.add(pkg.name);
            }
          }
          if (!supplied.size) {
            return;
          }
          compilation.updateAsset(REPORT, new sources.RawSource(JSON.stringify(report, null, 2)));
          const stale = w =>
            [...supplied].some(name =>
              String(w.message ?? w).endsWith(`could not find any license file for ${name}. ` +
                'Use the licenseTextOverrides option to add the license text if desired.'));
          const kept = compilation.warnings.filter(w => !stale(w));
          compilation.warnings.splice(0, compilation.warnings.length, ...kept);
        }
      );
    });
  }
}

module.exports = { plugins: [new CompleteLicenseReport()] };
