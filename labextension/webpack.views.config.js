/*
 * The in-notebook views' chart bundle: lib/chartcore.js (compiled by `npm run build:lib`)
 * with uPlot and its stylesheet in one self-contained script, written beside views.js.
 * The anywidget views have no build step of their own: views/models.py puts this script in
 * front of views.js, so the widget's one ES module holds the same chart code as the sidebar.
 * It declares a single name, `XtrackChart` (library type "var"), to share that module scope.
 */
const path = require('path');
const webpack = require('webpack');
const TerserPlugin = require('terser-webpack-plugin');

const uplotVersion = require('uplot/package.json').version;

module.exports = {
  mode: 'production',
  entry: './lib/chartcore.js',
  output: {
    path: path.resolve(__dirname, '../jupyter_xtrack/views/static'),
    filename: 'chartcore.js',
    library: { name: 'XtrackChart', type: 'var' },
    clean: false
  },
  module: {
    rules: [{ test: /\.css$/, use: ['style-loader', 'css-loader'] }]
  },
  optimization: {
    // Keep licence comments in the file itself (no separate .LICENSE.txt to ship).
    minimizer: [new TerserPlugin({ extractComments: false })]
  },
  plugins: [
    new webpack.BannerPlugin({
      banner: `jupyter_xtrack chart module; bundles uPlot ${uplotVersion} (MIT, (c) Leon Sorokin, https://github.com/leeoniya/uPlot)`
    })
  ],
  performance: { hints: false },
  devtool: false
};
