import './base.css';
import './jobs.css';
import './detail.css';
import './charts.css';
import './table.css';
import './reproductions.css';
import './models.css';
import './evaluation.css';
