import './base.css';
import './jobs.css';
import './reproductions.css';
