// MathJax 3 for the marking page: typeset only the rubric and the students' Markdown (class "tex"),
// no menu, no \class/\style/\cssId (the html package), and the "safe" extension on links and sizes.
window.MathJax = {
  loader: {load: ["ui/safe"]},
  tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], packages: {"[-]": ["html"]}},
  options: {ignoreHtmlClass: "mark-page", processHtmlClass: "tex", enableMenu: false},
  startup: {typeset: true}
};
