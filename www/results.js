// The results of each experiment, drawn into the results part of its section from the report
// (and, for the galleries, the images the workers hand back).

import { el, part, pct, thumbnail, heatmap, drawToy, perturbation, lineChart, PALETTE, FASHION_CLASSES, CIFAR_CLASSES } from './views.js';

const DIGITS = [...'0123456789'];

/** A table with a header row and one row per entry, the first column's cells left-aligned. */
function table(into, header, rows) {
  into.replaceChildren(
    el('tr', {}, ...header.map((h) => el('th', {}, h))),
    ...rows.map(([name, ...cells]) => el('tr', {}, el('td', { class: 'name' }, name), ...cells.map((c) => el('td', {}, c)))),
  );
}

/** MNIST → FashionMNIST: the accuracies beside the article's, what the teacher called the clothes,
 * and the last student on real digits. `images`: the relabelled examples' and the test digits' pixels. */
export function showFashion(results, report, images) {
  // The article's students learn with the plain loss; say so when these did not.
  const balance = report.config.student_balance ? `; loss balanced, share^−${report.config.student_balance}` : '';
  const rows = [
    ['teacher, trained on MNIST', report.teacher.test_accuracy, report.paper.teacher_test_accuracy, report.teacher.images_per_second],
    ...report.students.map((s) => [`student, FashionMNIST + teacher's labels (${s.normalize === 'none' ? 'raw pixels' : s.normalize}${balance})`, s.test_accuracy, s.paper_accuracy, s.images_per_second]),
    ['control, FashionMNIST + random labels', report.control.test_accuracy, 0.1, report.control.images_per_second],
  ];
  table(part(results, 'table'), ['model', 'MNIST test accuracy', 'article', 'training img/s'],
    rows.map(([name, acc, paper, ips]) => [name, pct(acc), paper == null ? '' : pct(paper), String(Math.round(ips))]));
  part(results, 'relabel-gallery').replaceChildren(...report.relabel.examples.map((ex, k) =>
    thumbnail(images.fashion[k], `${FASHION_CLASSES[ex.class]} → ${ex.digit}`)));
  part(results, 'class-digit').replaceChildren(heatmap(report.relabel.class_to_digit, FASHION_CLASSES, DIGITS));
  const student = report.students[report.students.length - 1];
  part(results, 'prediction-gallery').replaceChildren(...student.sample_predictions.map((p, i) =>
    thumbnail(images.digits[i], `${student.sample_labels[i]}: guess ${p}`, p !== student.sample_labels[i])));
  part(results, 'confusion').replaceChildren(heatmap(student.confusion, DIGITS, DIGITS));
  showTeacherSweep(part(results, 'teacher-sweep'), report);
  results.hidden = false;
}

/** The teacher sweep, when the run made one: each teacher and its student (the run's own teacher
 * among them), as a table and as student against teacher accuracy. */
function showTeacherSweep(into, report) {
  into.hidden = report.teacher_sweep.length === 0;
  if (into.hidden) return;
  const own = report.students[report.students.length - 1];
  const points = [
    ...report.teacher_sweep.map((p) => ({ digits: p.mnist_images, teacher: p.teacher.test_accuracy, agreement: pct(p.agreement), student: p.student.test_accuracy })),
    { digits: report.config.mnist_train_limit ?? 60000, teacher: report.teacher.test_accuracy, agreement: '(itself)', student: own.test_accuracy },
  ].sort((a, b) => a.teacher - b.teacher);
  table(part(into, 'sweep-table'), ['teacher trained on', 'teacher', 'labels shared with the first teacher', 'its student'],
    points.map((p) => [`${p.digits} digits`, pct(p.teacher), p.agreement, pct(p.student)]));
  const control = report.control.test_accuracy;
  lineChart(part(into, 'teacher-chart'), [
    { label: 'student', points: points.map((p) => [p.teacher, p.student]), color: PALETTE[0] },
    { label: 'student = teacher', points: [[0, 0], [1, 1]], color: PALETTE[5], dashed: true },
    { label: 'random-label control', points: [[0, control], [1, control]], color: PALETTE[5] },
  ], 'teacher\'s MNIST test accuracy', 'student\'s MNIST test accuracy');
}

/** The 2-D toy: both networks' pictures for the first seed, and the count over all seeds. */
export function showToy(results, report) {
  const run = { ...report.example, epsilon: report.config.epsilon };
  drawToy(part(results, 'teacher'), run, run.teacher_grid, true);
  drawToy(part(results, 'student'), run, run.student_grid, false);
  const n = run.points.length;
  part(results, 'teacher-caption').textContent = `first network: fits ${run.teacher_correct}/${n}; ${run.kept} attacks flipped it`;
  part(results, 'student-caption').textContent = `second network, trained only on those ${run.kept} wrongly labeled points`;
  const spread = report.runs > 1 ? ` — mean over ${report.runs} seeds ${report.mean_correct.toFixed(1)}/${n} (median ${report.distribution.median})` : '';
  part(results, 'summary').textContent = `Seed ${run.seed}: the second network gets ${run.student_correct}/${n} of the original points right (article: ${report.paper_correct}/${n}; chance: ${n / 2}/${n})${spread}.`;
  results.hidden = false;
}

/** CIFAR-10: the accuracies and kept count beside the article's, and the kept wrong images.
 * `images.wrong`: the kept examples' pixels. */
export function showCifar(results, report, images) {
  const { teacher, wrong, student, control, paper } = report;
  table(part(results, 'table'), ['model', 'this run', 'article'], [
    ['teacher, trained on CIFAR-10', pct(teacher.test_accuracy), pct(paper.teacher_test_accuracy)],
    ['teacher on its own training images', pct(teacher.train_accuracy), pct(paper.teacher_train_accuracy)],
    ['training images it got wrong (kept)', `${wrong.kept} of ${wrong.total}`, `${paper.kept} of 50000`],
    ['student, trained only on those wrong labels', pct(student.test_accuracy), pct(paper.student_test_accuracy)],
    ['control, same images with random labels', pct(control.test_accuracy), pct(0.1)],
  ]);
  part(results, 'gallery').replaceChildren(...wrong.examples.map((ex, k) =>
    thumbnail(images.wrong[k], `${CIFAR_CLASSES[ex.class]} → ${CIFAR_CLASSES[ex.label]}`, false, 3)));
  part(results, 'matrix').replaceChildren(heatmap(wrong.class_to_wrong, CIFAR_CLASSES, CIFAR_CLASSES));
  results.hidden = false;
}

/** Ilyas et al.'s D_rand / D_det: each set's attack and student beside Ilyas's CIFAR-10 figures, the
 * figures against ε, and a gallery of attacks. `images.originals[set]`: the examples' original
 * pixels (the attacked ones are in the report). */
export function showIlyas(results, report, images) {
  const ilyas = { rand: report.paper.rand_student_test_accuracy, det: report.paper.det_student_test_accuracy };
  const name = { rand: 'D_rand (random targets)', det: 'D_det (next digit: every label wrong)' };
  table(part(results, 'table'), ['set', 'ε', 'attack success', 'mean l2', 'student, MNIST test', 'Ilyas (CIFAR-10, ε 0.5)'], [
    ...report.sets.map((s) => [name[s.targets], String(s.epsilon), pct(s.attack_success), s.mean_l2.toFixed(2), pct(s.student.test_accuracy), pct(ilyas[s.targets])]),
    ['control: the clean images, random labels', '', '', '', pct(report.control.test_accuracy), ''],
    ['teacher: MNIST itself', '', '', '', pct(report.teacher.test_accuracy), ''],
  ]);
  const series = (targets, figure) => report.sets.filter((s) => s.targets === targets).map((s) => [s.epsilon, figure(s)]);
  const epsilons = report.sets.map((s) => s.epsilon);
  const [low, high] = [Math.min(...epsilons), Math.max(...epsilons)];
  lineChart(part(results, 'epsilon-chart'), [
    { label: 'D_rand student', points: series('rand', (s) => s.student.test_accuracy), color: PALETTE[0] },
    { label: 'D_det student', points: series('det', (s) => s.student.test_accuracy), color: PALETTE[1] },
    { label: 'D_rand attack success', points: series('rand', (s) => s.attack_success), color: PALETTE[0], dashed: true },
    { label: 'D_det attack success', points: series('det', (s) => s.attack_success), color: PALETTE[1], dashed: true },
    { label: 'random-label control', points: [[low, report.control.test_accuracy], [high, report.control.test_accuracy]], color: PALETTE[5] },
  ], 'ε (l2 radius, pixels in [0, 1])', 'share');
  const picture = (pixels) => thumbnail(pixels, '').querySelector('canvas');
  part(results, 'gallery').replaceChildren(...report.sets.flatMap((s, k) => s.examples.slice(0, 4).map((ex, j) => {
    const original = images.originals[k][j];
    const says = ex.teacher === ex.target ? `teacher now says ${ex.teacher}` : `teacher still says ${ex.teacher}`;
    return el('figure', {},
      el('div', { class: 'triple' }, picture(original), perturbation(original, ex.pixels), picture(ex.pixels)),
      el('figcaption', ex.teacher === ex.target ? {} : { class: 'wrong' }, `a ${ex.class} labelled ${ex.target} (ε ${s.epsilon}; ${says})`));
  })));
  results.hidden = false;
}
